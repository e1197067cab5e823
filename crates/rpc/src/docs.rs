//! system.listMethods / methodHelp / methodSignature data, generated from the
//! reference supervisord 4.3.0 by `crates/rpc/tools/gen_docs.py`. Do not edit by hand.

/// (name, raw docstring, signature) sorted as system.listMethods returns them.
static METHODS: &[(&str, &str, &[&str])] = &[
    (
        "supervisor.addProcessGroup",
        " Update the config for a running process from config file.\n\n        @param string name         name of process group to add\n        @return boolean result     true if successful\n        ",
        &["boolean", "string"],
    ),
    (
        "supervisor.clearAllProcessLogs",
        " Clear all process log files\n\n        @return array result   An array of process status info structs\n        ",
        &["array"],
    ),
    (
        "supervisor.clearLog",
        " Clear the main log.\n\n        @return boolean result always returns True unless error\n        ",
        &["boolean"],
    ),
    (
        "supervisor.clearProcessLog",
        " Clear the stdout and stderr logs for the named process and\n        reopen them.\n\n        @param string name   The name of the process (or 'group:name')\n        @return boolean result      Always True unless error\n        ",
        &["boolean", "string"],
    ),
    (
        "supervisor.clearProcessLogs",
        " Clear the stdout and stderr logs for the named process and\n        reopen them.\n\n        @param string name   The name of the process (or 'group:name')\n        @return boolean result      Always True unless error\n        ",
        &["boolean", "string"],
    ),
    (
        "supervisor.getAPIVersion",
        " Return the version of the RPC API used by supervisord\n\n        @return string version id\n        ",
        &["string"],
    ),
    (
        "supervisor.getAllConfigInfo",
        " Get info about all available process configurations. Each struct\n        represents a single process (i.e. groups get flattened).\n\n        @return array result  An array of process config info structs\n        ",
        &["array"],
    ),
    (
        "supervisor.getAllProcessInfo",
        " Get info about all processes\n\n        @return array result  An array of process status results\n        ",
        &["array"],
    ),
    (
        "supervisor.getIdentification",
        " Return identifying string of supervisord\n\n        @return string identifier identifying string\n        ",
        &["string"],
    ),
    (
        "supervisor.getPID",
        " Return the PID of supervisord\n\n        @return int PID\n        ",
        &["int"],
    ),
    (
        "supervisor.getProcessInfo",
        " Get info about a process named name\n\n        @param string name The name of the process (or 'group:name')\n        @return struct result     A structure containing data about the process\n        ",
        &["struct", "string"],
    ),
    (
        "supervisor.getState",
        " Return current state of supervisord as a struct\n\n        @return struct A struct with keys int statecode, string statename\n        ",
        &["struct"],
    ),
    (
        "supervisor.getSupervisorVersion",
        " Return the version of the supervisor package in use by supervisord\n\n        @return string version id\n        ",
        &["string"],
    ),
    (
        "supervisor.getVersion",
        " Return the version of the RPC API used by supervisord\n\n        @return string version id\n        ",
        &["string"],
    ),
    (
        "supervisor.readLog",
        " Read length bytes from the main log starting at offset\n\n        @param int offset         offset to start reading from.\n        @param int length         number of bytes to read from the log.\n        @return string result     Bytes of log\n        ",
        &["string", "int", "int"],
    ),
    (
        "supervisor.readMainLog",
        " Read length bytes from the main log starting at offset\n\n        @param int offset         offset to start reading from.\n        @param int length         number of bytes to read from the log.\n        @return string result     Bytes of log\n        ",
        &["string", "int", "int"],
    ),
    (
        "supervisor.readProcessLog",
        " Read length bytes from name's stdout log starting at offset\n\n        @param string name        the name of the process (or 'group:name')\n        @param int offset         offset to start reading from.\n        @param int length         number of bytes to read from the log.\n        @return string result     Bytes of log\n        ",
        &["string", "string", "int", "int"],
    ),
    (
        "supervisor.readProcessStderrLog",
        " Read length bytes from name's stderr log starting at offset\n\n        @param string name        the name of the process (or 'group:name')\n        @param int offset         offset to start reading from.\n        @param int length         number of bytes to read from the log.\n        @return string result     Bytes of log\n        ",
        &["string", "string", "int", "int"],
    ),
    (
        "supervisor.readProcessStdoutLog",
        " Read length bytes from name's stdout log starting at offset\n\n        @param string name        the name of the process (or 'group:name')\n        @param int offset         offset to start reading from.\n        @param int length         number of bytes to read from the log.\n        @return string result     Bytes of log\n        ",
        &["string", "string", "int", "int"],
    ),
    (
        "supervisor.reloadConfig",
        "\n        Reload the configuration.\n\n        The result contains three arrays containing names of process\n        groups:\n\n        * `added` gives the process groups that have been added\n        * `changed` gives the process groups whose contents have\n          changed\n        * `removed` gives the process groups that are no longer\n          in the configuration\n\n        @return array result  [[added, changed, removed]]\n\n        ",
        &["array"],
    ),
    (
        "supervisor.removeProcessGroup",
        " Remove a stopped process from the active configuration.\n\n        @param string name         name of process group to remove\n        @return boolean result     Indicates whether the removal was successful\n        ",
        &["boolean", "string"],
    ),
    (
        "supervisor.restart",
        " Restart the supervisor process\n\n        @return boolean result  always return True unless error\n        ",
        &["boolean"],
    ),
    (
        "supervisor.sendProcessStdin",
        " Send a string of chars to the stdin of the process name.\n        If non-7-bit data is sent (unicode), it is encoded to utf-8\n        before being sent to the process' stdin.  If chars is not a\n        string or is not unicode, raise INCORRECT_PARAMETERS.  If the\n        process is not running, raise NOT_RUNNING.  If the process'\n        stdin cannot accept input (e.g. it was closed by the child\n        process), raise NO_FILE.\n\n        @param string name        The process name to send to (or 'group:name')\n        @param string chars       The character data to send to the process\n        @return boolean result    Always return True unless error\n        ",
        &["boolean", "string", "string"],
    ),
    (
        "supervisor.sendRemoteCommEvent",
        " Send an event that will be received by event listener\n        subprocesses subscribing to the RemoteCommunicationEvent.\n\n        @param  string  type  String for the \"type\" key in the event header\n        @param  string  data  Data for the event body\n        @return boolean       Always return True unless error\n        ",
        &["boolean", "string", "string"],
    ),
    (
        "supervisor.shutdown",
        " Shut down the supervisor process\n\n        @return boolean result always returns True unless error\n        ",
        &["boolean"],
    ),
    (
        "supervisor.signalAllProcesses",
        " Send a signal to all processes in the process list\n\n        @param string signal  Signal to send, as name ('HUP') or number ('1')\n        @return array         An array of process status info structs\n        ",
        &["array", "string"],
    ),
    (
        "supervisor.signalProcess",
        " Send an arbitrary UNIX signal to the process named by name\n\n        @param string name    Name of the process to signal (or 'group:name')\n        @param string signal  Signal to send, as name ('HUP') or number ('1')\n        @return boolean\n        ",
        &["boolean", "string", "string"],
    ),
    (
        "supervisor.signalProcessGroup",
        " Send a signal to all processes in the group named 'name'\n\n        @param string name    The group name\n        @param string signal  Signal to send, as name ('HUP') or number ('1')\n        @return array\n        ",
        &["array", "string", "string"],
    ),
    (
        "supervisor.startAllProcesses",
        " Start all processes listed in the configuration file\n\n        @param boolean wait    Wait for each process to be fully started\n        @return array result   An array of process status info structs\n        ",
        &["array", "boolean"],
    ),
    (
        "supervisor.startProcess",
        " Start a process\n\n        @param string name Process name (or ``group:name``, or ``group:*``)\n        @param boolean wait Wait for process to be fully started\n        @return boolean result     Always true unless error\n\n        ",
        &["boolean", "string", "boolean"],
    ),
    (
        "supervisor.startProcessGroup",
        " Start all processes in the group named 'name'\n\n        @param string name     The group name\n        @param boolean wait    Wait for each process to be fully started\n        @return array result   An array of process status info structs\n        ",
        &["array", "string", "boolean"],
    ),
    (
        "supervisor.stopAllProcesses",
        " Stop all processes in the process list\n\n        @param  boolean wait   Wait for each process to be fully stopped\n        @return array result   An array of process status info structs\n        ",
        &["array", "boolean"],
    ),
    (
        "supervisor.stopProcess",
        " Stop a process named by name\n\n        @param string name  The name of the process to stop (or 'group:name')\n        @param boolean wait        Wait for the process to be fully stopped\n        @return boolean result     Always return True unless error\n        ",
        &["boolean", "string", "boolean"],
    ),
    (
        "supervisor.stopProcessGroup",
        " Stop all processes in the process group named 'name'\n\n        @param string name     The group name\n        @param boolean wait    Wait for each process to be fully stopped\n        @return array result   An array of process status info structs\n        ",
        &["array", "string", "boolean"],
    ),
    (
        "supervisor.tailProcessLog",
        "\n        Provides a more efficient way to tail the (stdout) log than\n        readProcessStdoutLog().  Use readProcessStdoutLog() to read\n        chunks and tailProcessStdoutLog() to tail.\n\n        Requests (length) bytes from the (name)'s log, starting at\n        (offset).  If the total log size is greater than (offset +\n        length), the overflow flag is set and the (offset) is\n        automatically increased to position the buffer at the end of\n        the log.  If less than (length) bytes are available, the\n        maximum number of available bytes will be returned.  (offset)\n        returned is always the last offset in the log +1.\n\n        @param string name         the name of the process (or 'group:name')\n        @param int offset          offset to start reading from\n        @param int length          maximum number of bytes to return\n        @return array result       [string bytes, int offset, bool overflow]\n        ",
        &["array", "string", "int", "int"],
    ),
    (
        "supervisor.tailProcessStderrLog",
        "\n        Provides a more efficient way to tail the (stderr) log than\n        readProcessStderrLog().  Use readProcessStderrLog() to read\n        chunks and tailProcessStderrLog() to tail.\n\n        Requests (length) bytes from the (name)'s log, starting at\n        (offset).  If the total log size is greater than (offset +\n        length), the overflow flag is set and the (offset) is\n        automatically increased to position the buffer at the end of\n        the log.  If less than (length) bytes are available, the\n        maximum number of available bytes will be returned.  (offset)\n        returned is always the last offset in the log +1.\n\n        @param string name         the name of the process (or 'group:name')\n        @param int offset          offset to start reading from\n        @param int length          maximum number of bytes to return\n        @return array result       [string bytes, int offset, bool overflow]\n        ",
        &["array", "string", "int", "int"],
    ),
    (
        "supervisor.tailProcessStdoutLog",
        "\n        Provides a more efficient way to tail the (stdout) log than\n        readProcessStdoutLog().  Use readProcessStdoutLog() to read\n        chunks and tailProcessStdoutLog() to tail.\n\n        Requests (length) bytes from the (name)'s log, starting at\n        (offset).  If the total log size is greater than (offset +\n        length), the overflow flag is set and the (offset) is\n        automatically increased to position the buffer at the end of\n        the log.  If less than (length) bytes are available, the\n        maximum number of available bytes will be returned.  (offset)\n        returned is always the last offset in the log +1.\n\n        @param string name         the name of the process (or 'group:name')\n        @param int offset          offset to start reading from\n        @param int length          maximum number of bytes to return\n        @return array result       [string bytes, int offset, bool overflow]\n        ",
        &["array", "string", "int", "int"],
    ),
    (
        "system.listMethods",
        " Return an array listing the available method names\n\n        @return array result  An array of method names available (strings).\n        ",
        &["array"],
    ),
    (
        "system.methodHelp",
        " Return a string showing the method's documentation\n\n        @param string name   The name of the method.\n        @return string result The documentation for the method name.\n        ",
        &["string", "string"],
    ),
    (
        "system.methodSignature",
        " Return an array describing the method signature in the\n        form [rtype, ptype, ptype...] where rtype is the return data type\n        of the method, and ptypes are the parameter data types that the\n        method accepts in method argument order.\n\n        @param string name  The name of the method.\n        @return array result  The result.\n        ",
        &["array", "string"],
    ),
    (
        "system.multicall",
        "Process an array of calls, and return an array of\n        results. Calls should be structs of the form {'methodName':\n        string, 'params': array}. Each result will either be a\n        single-item array containing the result value, or a struct of\n        the form {'faultCode': int, 'faultString': string}. This is\n        useful when you need to make lots of small calls without lots\n        of round trips.\n\n        @param array calls  An array of call requests\n        @return array result  An array of results\n        ",
        &["array", "array"],
    ),
];

static NAMES: [&str; 41] = [
    "supervisor.addProcessGroup",
    "supervisor.clearAllProcessLogs",
    "supervisor.clearLog",
    "supervisor.clearProcessLog",
    "supervisor.clearProcessLogs",
    "supervisor.getAPIVersion",
    "supervisor.getAllConfigInfo",
    "supervisor.getAllProcessInfo",
    "supervisor.getIdentification",
    "supervisor.getPID",
    "supervisor.getProcessInfo",
    "supervisor.getState",
    "supervisor.getSupervisorVersion",
    "supervisor.getVersion",
    "supervisor.readLog",
    "supervisor.readMainLog",
    "supervisor.readProcessLog",
    "supervisor.readProcessStderrLog",
    "supervisor.readProcessStdoutLog",
    "supervisor.reloadConfig",
    "supervisor.removeProcessGroup",
    "supervisor.restart",
    "supervisor.sendProcessStdin",
    "supervisor.sendRemoteCommEvent",
    "supervisor.shutdown",
    "supervisor.signalAllProcesses",
    "supervisor.signalProcess",
    "supervisor.signalProcessGroup",
    "supervisor.startAllProcesses",
    "supervisor.startProcess",
    "supervisor.startProcessGroup",
    "supervisor.stopAllProcesses",
    "supervisor.stopProcess",
    "supervisor.stopProcessGroup",
    "supervisor.tailProcessLog",
    "supervisor.tailProcessStderrLog",
    "supervisor.tailProcessStdoutLog",
    "system.listMethods",
    "system.methodHelp",
    "system.methodSignature",
    "system.multicall",
];

/// The method names, sorted, as `system.listMethods` returns them.
pub fn method_names() -> &'static [&'static str] {
    &NAMES
}

/// The raw Python docstring of a method (indentation included), as `system.methodHelp`.
pub fn method_help(name: &str) -> Option<&'static str> {
    METHODS.iter().find(|m| m.0 == name).map(|m| m.1)
}

/// `[return type, param types...]` as `system.methodSignature`.
pub fn method_signature(name: &str) -> Option<Vec<&'static str>> {
    METHODS.iter().find(|m| m.0 == name).map(|m| m.2.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete() {
        assert_eq!(method_names().len(), 41);
        assert_eq!(method_names().len(), METHODS.len());
        for (a, m) in method_names().iter().zip(METHODS.iter()) {
            assert_eq!(*a, m.0);
        }
        assert_eq!(
            method_signature("supervisor.getProcessInfo").unwrap(),
            vec!["struct", "string"]
        );
        assert_eq!(
            method_signature("supervisor.startProcess").unwrap(),
            vec!["boolean", "string", "boolean"]
        );
        assert_eq!(
            method_signature("system.multicall").unwrap(),
            vec!["array", "array"]
        );
        assert!(method_help("supervisor.getState")
            .unwrap()
            .contains("@return struct"));
        assert!(method_help("nope.x").is_none());
    }
}
