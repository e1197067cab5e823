//! `[node:NAME]` sections and `[steward] node`, loaded from files in temp dirs.

use std::time::Duration;

mod common;
use common::{errors, ok};

#[test]
fn nodes_with_each_kind_of_address_and_credentials() {
    let c = ok("[supervisord]\n\
         [steward]\nnode = web0\n\
         [node:web1]\nserverurl = https://web1.example:9443\nusername = ops\npassword = s3cret\ntimeout = 2.5\n\
         [node:web2]\nserverurl = http://10.0.0.2:9001\ntoken_file = @DIR@/web2.token\n\
         [node:old-box]\nserverurl = unix:///run/supervisor.sock\n");
    assert_eq!(c.local_node_name(), "web0");
    let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["web1", "web2", "old-box"]);
    let web1 = &c.nodes[0];
    assert_eq!(web1.serverurl, "https://web1.example:9443");
    assert_eq!(web1.username.as_deref(), Some("ops"));
    assert_eq!(web1.password.as_deref(), Some("s3cret"));
    assert_eq!(web1.timeout, Duration::from_millis(2500));
    assert!(
        !format!("{web1:?}").contains("s3cret"),
        "Debug hides the password"
    );
    assert!(c.nodes[1]
        .token_file
        .as_ref()
        .unwrap()
        .ends_with("web2.token"));
    assert_eq!(c.nodes[2].timeout, Duration::from_secs(1));
}

#[test]
fn the_local_name_falls_back_to_the_cluster_node() {
    let c = ok("[supervisord]\n[cluster]\nnode = db-1\n");
    assert_eq!(c.local_node_name(), "db-1");
}

#[test]
fn bad_nodes_name_line_section_and_value() {
    let errs = errors(
        "[supervisord]\n\
         [node:web1]\nserverurl = ftp://web1\n\
         [node:web2]\nserverurl = http://ops:pw@web2:9001\n\
         [node:all]\nserverurl = http://x:1\n\
         [node:web3]\nserverurl = http://web3:9001\npassword = x\n\
         [node:web4]\nserverurl = http://web4:9001\ntimeout = 0\n\
         [node:web5]\nserverurl = unix:///s.sock\ntoken_file = @DIR@/web2.token\n\
         [node:web6]\nserverurl = http://web6:9001\ntoken_file = @DIR@/empty.token\n\
         [node:web7]\nusername = a\npassword = b\n\
         [node:web8]\nserverurl = http://web8:99999\n\
         [steward]\nnode = bad name\n",
    );
    let expect = [
        "3: [node:web1] serverurl = ftp://web1: invalid serverurl 'ftp://web1' (expected http://, https:// or unix://)",
        "5: [node:web2] serverurl = http://ops:pw@web2:9001: invalid serverurl",
        "6: [node:all]: 'all' is reserved",
        "10: [node:web3] password = x: a password needs a username",
        "13: [node:web4] timeout = 0: invalid 'timeout' value '0' (between 0.1 and 60 seconds)",
        "16: [node:web5] token_file = ",
        "19: [node:web6] token_file = ",
        "20: [node:web7]: [node:web7] needs a serverurl",
        "24: [node:web8] serverurl = http://web8:99999: invalid port '99999' in serverurl",
        "26: [steward] node = bad name: invalid node name 'bad name'",
    ];
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    for (got, want) in errs.iter().zip(expect) {
        assert!(
            got.starts_with(want),
            "{got}\n  does not start with\n{want}"
        );
    }
    assert!(errs[5].ends_with("a token_file node needs an http:// or https:// serverurl"));
    assert!(errs[6].ends_with("is empty (expected a bearer token)"));
}
