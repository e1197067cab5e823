//! The XML-RPC decoder (`steward_rpc::xml`): any bytes as a request body (what `/RPC2`
//! decodes from the network) and as a response body (what `steward ctl` decodes). A call
//! that decodes must survive an encode → decode round trip with the same method name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_rpc::xml;

fuzz_target!(|data: &[u8]| {
    if let Ok((method, params)) = xml::parse_call(data) {
        let again = xml::encode_call(&method, &params);
        let (method2, params2) = xml::parse_call(again.as_bytes()).expect("re-encoded call");
        assert_eq!(method, method2);
        assert_eq!(params.len(), params2.len());
    }
    let _ = xml::parse_response(data);
});
