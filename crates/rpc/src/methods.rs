//! The `supervisor.*` and `system.*` method table, mapped onto the engine.
//!
//! Data flow: the server hands a request body to [`Rpc::handle_body`]; it is decoded with
//! [`crate::xml`], dispatched by name to one method here, and the result or fault is encoded
//! back. Read-only methods answer from the engine's snapshot without touching the loop;
//! actions send a request to the loop and, for `wait=true`, await its deferred reply (the
//! XML-RPC response is simply held open, as supervisord's long poll does).
//!
//! Argument handling, result structs (key order included), ordering and fault strings are
//! supervisord 4.3's, from `rpcinterface.py`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use steward_engine::actions::{self, ManyAction, MemberResult, Target};
use steward_engine::logs::{read_range, tail_range, ReadError};
use steward_engine::supervisor::Request;
use steward_engine::{ActionError, EngineHandle, ProcInfo, ProcKey};
use tokio::sync::watch;

use crate::docs;
use crate::faults::{self, fault};
use crate::value::{Fault, Value};
use crate::xml;

/// The API version supervisorctl insists on.
pub const API_VERSION: &str = "3.0";
/// What getSupervisorVersion reports: the reference version we are compatible with.
pub const SUPERVISOR_VERSION: &str = "4.3.0";

/// Called with (method, target, outcome) after every state-changing call.
pub type AuditHook = Arc<dyn Fn(&str, &str, &str) + Send + Sync>;

/// The `supervisor.*` methods that change state (and so are audited).
fn changes_state(method: &str) -> bool {
    matches!(
        method,
        "startProcess"
            | "startProcessGroup"
            | "startAllProcesses"
            | "stopProcess"
            | "stopProcessGroup"
            | "stopAllProcesses"
            | "signalProcess"
            | "signalProcessGroup"
            | "signalAllProcesses"
            | "sendProcessStdin"
            | "sendRemoteCommEvent"
            | "clearProcessLogs"
            | "clearProcessLog"
            | "clearAllProcessLogs"
            | "clearLog"
            | "shutdown"
            | "restart"
            | "reloadConfig"
            | "addProcessGroup"
            | "removeProcessGroup"
    )
}

/// The method table bound to one engine.
#[derive(Clone)]
pub struct Rpc {
    engine: EngineHandle,
    auto_names: Arc<std::sync::Mutex<AutoNames>>,
    audit: Option<AuditHook>,
}

type LogPaths = (Option<Arc<std::path::Path>>, Option<Arc<std::path::Path>>);

/// For getAllConfigInfo's AUTO log names. supervisord resolves `AUTO` in the config objects
/// a group is created from (at startup, and by addProcessGroup), and they stay resolved
/// when the group is removed; the objects of a later reloadConfig say `auto` until their
/// group is added.
#[derive(Default)]
struct AutoNames {
    /// The parse the rest applies to.
    parse: Option<Arc<steward_config::Config>>,
    /// The parse came from an RPC reloadConfig (not from startup or a restart).
    from_reload: bool,
    /// Groups added (addProcessGroup) since that reloadConfig.
    added: std::collections::HashSet<Arc<str>>,
    /// Resolved log names seen, by (group, process).
    paths: std::collections::HashMap<(Arc<str>, Arc<str>), LogPaths>,
}

impl AutoNames {
    /// Records the resolved names of the running processes (of `only_group`, when the
    /// caller knows which group changed: an update adding 100 groups to 1,000 programs
    /// then costs 100 small looks instead of 100 passes over everything).
    fn observe(
        &mut self,
        parse: &Arc<steward_config::Config>,
        snap: &steward_engine::Snapshot,
        only_group: Option<&str>,
    ) {
        if !self.parse.as_ref().is_some_and(|p| Arc::ptr_eq(p, parse)) {
            *self = AutoNames {
                parse: Some(parse.clone()),
                ..Default::default()
            };
        }
        let wanted = |p: &&Arc<steward_engine::ProcInfo>| only_group.is_none_or(|g| *p.group == *g);
        for p in snap.processes.iter().filter(wanted) {
            if !self.from_reload || self.added.contains(&p.group) {
                self.paths.insert(
                    (p.group.clone(), p.name.clone()),
                    (p.stdout_logfile.clone(), p.stderr_logfile.clone()),
                );
            }
        }
    }
}

type RpcResult = Result<Value, Fault>;

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// supervisord's `capped_int`: XML-RPC ints are 32-bit.
fn capped_int(v: f64) -> i32 {
    let v = v as i64;
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

fn action_fault(e: &ActionError, name: &str) -> Fault {
    match e {
        ActionError::BadName => fault(faults::BAD_NAME, Some(name)),
        ActionError::NoFile(m) => fault(faults::NO_FILE, Some(m)),
        ActionError::NotExecutable(m) => fault(faults::NOT_EXECUTABLE, Some(m)),
        ActionError::AlreadyStarted => fault(faults::ALREADY_STARTED, Some(name)),
        ActionError::NotRunning => fault(faults::NOT_RUNNING, Some(name)),
        ActionError::SpawnError => fault(faults::SPAWN_ERROR, Some(name)),
        ActionError::AbnormalTermination => fault(faults::ABNORMAL_TERMINATION, Some(name)),
        ActionError::Failed(m) => fault(faults::FAILED, Some(m)),
        ActionError::ShutdownState => fault(faults::SHUTDOWN_STATE, None),
        ActionError::AlreadyAdded => fault(faults::ALREADY_ADDED, Some(name)),
        ActionError::StillRunning => fault(faults::STILL_RUNNING, Some(name)),
        ActionError::CantReread(m) => fault(faults::CANT_REREAD, Some(m)),
    }
}

/// One member's entry in a group or "all" result.
fn member_struct(r: &MemberResult) -> Value {
    match &r.result {
        Ok(()) => result_struct(&r.info.group, &r.info.name, faults::SUCCESS, "OK"),
        Err(e) => {
            let ns = actions::namespec(&r.info.group, &r.info.name);
            fault_struct(&r.info.group, &r.info.name, &action_fault(e, &ns))
        }
    }
}

fn incorrect() -> Fault {
    fault(faults::INCORRECT_PARAMETERS, None)
}

fn arg_str(params: &[Value], i: usize) -> Result<&str, Fault> {
    params.get(i).and_then(Value::as_str).ok_or_else(incorrect)
}

/// Python truthiness of an optional `wait` argument (default true).
fn arg_wait(params: &[Value], i: usize) -> Result<bool, Fault> {
    match params.get(i) {
        None => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Int(n)) => Ok(*n != 0),
        Some(Value::String(s)) => Ok(!s.is_empty()),
        Some(_) => Err(incorrect()),
    }
}

/// `int(x)` of an int or a numeric string.
fn arg_int(params: &[Value], i: usize) -> Result<i64, Fault> {
    match params.get(i) {
        Some(Value::Int(n)) => Ok(i64::from(*n)),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| incorrect()),
        Some(Value::Bool(b)) => Ok(i64::from(*b)),
        _ => Err(incorrect()),
    }
}

fn arity(params: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if params.len() < min || params.len() > max {
        Err(incorrect())
    } else {
        Ok(())
    }
}

fn result_struct(group: &str, name: &str, status: i32, description: &str) -> Value {
    Value::Struct(vec![
        ("name".into(), Value::String(name.into())),
        ("group".into(), Value::String(group.into())),
        ("status".into(), Value::Int(status)),
        ("description".into(), Value::String(description.into())),
    ])
}

fn fault_struct(group: &str, name: &str, f: &Fault) -> Value {
    // supervisord puts `e.text` in description: the whole fault string, `NAME: extra`.
    result_struct(group, name, f.code, &f.string)
}

/// Python's `str()` of an argument, for faults whose extra part is the argument itself.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Double(d) => format!("{d:?}"),
        other => format!("{other:?}"),
    }
}

pub use steward_engine::text::describe;

/// One field of a process-info struct, borrowed: the same list feeds the `Value` built
/// for getProcessInfo and multicall, and the XML written straight out for
/// getAllProcessInfo.
enum InfoField<'a> {
    Int(i32),
    Str(&'a str),
}

/// Calls `field` for each member of getProcessInfo's struct, in supervisord's key order.
fn visit_process_info(p: &ProcInfo, now: f64, mut field: impl FnMut(&'static str, InfoField<'_>)) {
    use InfoField::{Int, Str};
    fn path(o: &Option<Arc<std::path::Path>>) -> std::borrow::Cow<'_, str> {
        o.as_deref()
            .map(|p| p.to_string_lossy())
            .unwrap_or_default()
    }
    let stdout = path(&p.stdout_logfile);
    field("name", Str(&p.name));
    field("group", Str(&p.group));
    field("start", Int(capped_int(p.start)));
    field("stop", Int(capped_int(p.stop)));
    field("now", Int(capped_int(now)));
    field("state", Int(p.state.code()));
    field("statename", Str(p.state.name()));
    field("spawnerr", Str(p.spawnerr.as_deref().unwrap_or_default()));
    field("exitstatus", Int(p.exitstatus.unwrap_or(0)));
    field("logfile", Str(&stdout));
    field("stdout_logfile", Str(&stdout));
    field("stderr_logfile", Str(&path(&p.stderr_logfile)));
    field("pid", Int(p.pid));
    field("description", Str(&describe(p, now)));
}

fn process_info(p: &ProcInfo, now: f64) -> Value {
    let mut members = Vec::with_capacity(14);
    visit_process_info(p, now, |key, value| {
        let value = match value {
            InfoField::Int(i) => Value::Int(i),
            InfoField::Str(s) => Value::String(s.to_string()),
        };
        members.push((key.to_string(), value));
    });
    Value::Struct(members)
}

/// getAllProcessInfo's reply, written straight into its XML: at 1,000 programs the
/// `Value` tree would be ~30,000 small allocations interleaved with the engine's own,
/// and the fragments they leave in the heap cannot be returned to the system.
fn encode_all_process_info(processes: &[Arc<ProcInfo>], now: f64) -> String {
    // A process's struct is ~850 bytes of XML with short names and paths.
    const BYTES_PER_PROCESS: usize = 1024;
    xml::encode_response_with(processes.len() * BYTES_PER_PROCESS, |out| {
        xml::begin_array(out);
        for p in processes {
            xml::begin_struct(out);
            visit_process_info(p, now, |key, value| {
                xml::begin_member(key, out);
                match value {
                    InfoField::Int(i) => xml::encode_int(i, out),
                    InfoField::Str(s) => xml::encode_string(s, out),
                }
                xml::end_member(out);
            });
            xml::end_struct(out);
        }
        xml::end_array(out);
    })
}

impl Rpc {
    pub fn new(engine: EngineHandle) -> Rpc {
        Rpc {
            engine,
            auto_names: Default::default(),
            audit: None,
        }
    }

    /// The same table, recording state-changing calls through `hook`.
    pub fn with_audit(mut self, hook: AuditHook) -> Rpc {
        self.audit = Some(hook);
        self
    }

    pub fn engine(&self) -> &EngineHandle {
        &self.engine
    }

    /// Decodes one request body, runs it, encodes the answer. `Err(status)` for bodies
    /// that are not XML-RPC at all (supervisord answers those with HTTP 400).
    pub async fn handle_body(&self, body: &[u8]) -> Result<String, u16> {
        let (method, params) = xml::parse_call(body).map_err(|_| 400u16)?;
        if method.is_empty() {
            // supervisord: "no method name" is an invalid request, not a fault.
            return Err(400);
        }
        if method == "supervisor.getAllProcessInfo" && params.is_empty() {
            // The common poll, written without a Value tree. Everything else about it (the
            // SHUTDOWN_STATE fault, multicall, a wrong arity) goes through `call`.
            let snap = self.engine.snapshot();
            if snap.state >= steward_engine::SupervisorState::Running {
                return Ok(encode_all_process_info(&snap.processes, now_epoch()));
            }
        }
        Ok(match self.call(&method, params).await {
            Ok(v) => xml::encode_response(&v),
            Err(f) => xml::encode_fault(&f),
        })
    }

    /// Runs one method by name.
    pub async fn call(&self, method: &str, params: Vec<Value>) -> RpcResult {
        let parts: Vec<&str> = method.split('.').collect();
        if parts.len() != 2 || parts[1].starts_with('_') {
            return Err(fault(faults::UNKNOWN_METHOD, None));
        }
        match parts[0] {
            "system" => self.system(parts[1], params).await,
            "supervisor" => {
                if !changes_state(parts[1]) {
                    return self.supervisor(parts[1], params).await;
                }
                let target = params
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let r = self.supervisor(parts[1], params).await;
                self.audit(method, &target, &r);
                r
            }
            "steward" => {
                let target = params
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let r = self.steward(parts[1], params).await;
                if parts[1] == "cronRun" {
                    self.audit(method, &target, &r);
                }
                r
            }
            _ => Err(fault(faults::UNKNOWN_METHOD, None)),
        }
    }

    /// Records a state-changing call in the daemon's audit log.
    fn audit(&self, method: &str, target: &str, result: &RpcResult) {
        if let Some(hook) = &self.audit {
            let outcome = match result {
                Ok(_) => "ok".to_string(),
                Err(f) => format!("{}: {}", f.code, f.string),
            };
            hook(method, target, &outcome);
        }
    }

    async fn system(&self, name: &str, params: Vec<Value>) -> RpcResult {
        match name {
            "listMethods" => {
                arity(&params, 0, 0)?;
                Ok(Value::Array(
                    docs::method_names()
                        .iter()
                        .map(|n| Value::String((*n).into()))
                        .collect(),
                ))
            }
            "methodHelp" => {
                arity(&params, 1, 1)?;
                // supervisord looks the name up: a non-string is simply not found.
                let n = params[0].as_str().unwrap_or("");
                docs::method_help(n)
                    .map(|h| Value::String(h.into()))
                    .ok_or_else(|| fault(faults::SIGNATURE_UNSUPPORTED, None))
            }
            "methodSignature" => {
                arity(&params, 1, 1)?;
                let n = params[0].as_str().unwrap_or("");
                docs::method_signature(n)
                    .map(|s| Value::Array(s.into_iter().map(|t| Value::String(t.into())).collect()))
                    .ok_or_else(|| fault(faults::SIGNATURE_UNSUPPORTED, None))
            }
            "multicall" => {
                arity(&params, 1, 1)?;
                let Some(calls) = params[0].as_array() else {
                    return Err(incorrect());
                };
                let mut out = Vec::with_capacity(calls.len());
                for call in calls {
                    let r = match (call.get("methodName"), call.get("params")) {
                        (Some(Value::String(m)), p) => {
                            if m == "system.multicall" {
                                Err(fault(
                                    faults::INCORRECT_PARAMETERS,
                                    Some("Recursive system.multicall forbidden"),
                                ))
                            } else {
                                let p = match p {
                                    Some(Value::Array(a)) => a.clone(),
                                    None => Vec::new(),
                                    Some(_) => Vec::new(),
                                };
                                Box::pin(self.call(m, p)).await
                            }
                        }
                        _ => Err(fault(faults::INCORRECT_PARAMETERS, Some("No methodName"))),
                    };
                    out.push(match r {
                        Ok(v) => v,
                        Err(f) => Value::Struct(vec![
                            ("faultCode".into(), Value::Int(f.code)),
                            ("faultString".into(), Value::String(f.string)),
                        ]),
                    });
                }
                Ok(Value::Array(out))
            }
            _ => Err(fault(faults::UNKNOWN_METHOD, None)),
        }
    }

    /// Steward's own namespace (cron jobs). Not listed by system.listMethods, so clients
    /// that compare the method list with supervisord's see no difference.
    async fn steward(&self, name: &str, params: Vec<Value>) -> RpcResult {
        let p = &params;
        let rfc = |t: Option<jiff::Timestamp>| {
            Value::String(
                t.map(|t| {
                    t.to_zoned(jiff::tz::TimeZone::system())
                        .strftime("%Y-%m-%dT%H:%M:%S%:z")
                        .to_string()
                })
                .unwrap_or_default(),
            )
        };
        match name {
            "cronList" => {
                arity(p, 0, 0)?;
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = self.engine.request(Request::CronList { reply: tx });
                let jobs = rx.await.map_err(|_| fault(faults::SHUTDOWN_STATE, None))?;
                Ok(Value::Array(
                    jobs.into_iter()
                        .map(|j| {
                            let last_status = if j.running {
                                "running".to_string()
                            } else {
                                j.last
                                    .as_ref()
                                    .map(|l| l.status.clone())
                                    .unwrap_or_else(|| "never".into())
                            };
                            Value::Struct(vec![
                                ("name".into(), Value::String(j.name)),
                                ("schedule".into(), Value::String(j.schedule)),
                                ("description".into(), Value::String(j.description)),
                                ("timezone".into(), Value::String(j.timezone)),
                                ("next".into(), rfc(j.next)),
                                ("last_status".into(), Value::String(last_status)),
                                ("last_start".into(), rfc(j.last.as_ref().map(|l| l.started))),
                                (
                                    "last_duration".into(),
                                    Value::Double(
                                        j.last.as_ref().map(|l| l.duration).unwrap_or(-1.0),
                                    ),
                                ),
                                ("enabled".into(), Value::Bool(j.enabled)),
                                (
                                    "node".into(),
                                    Value::String(j.last_node.unwrap_or_default()),
                                ),
                            ])
                        })
                        .collect(),
                ))
            }
            "cronHistory" => {
                arity(p, 1, 2)?;
                let job = arg_str(p, 0)?.to_string();
                let limit = if p.len() > 1 {
                    arg_int(p, 1)?.max(0) as usize
                } else {
                    20
                };
                let records = self
                    .engine
                    .call(|reply| Request::CronHistory {
                        name: job.clone(),
                        limit,
                        reply,
                    })
                    .await
                    .map_err(|e| action_fault(&e, &job))?;
                Ok(Value::Array(
                    records
                        .into_iter()
                        .map(|r| {
                            let trigger = match r.trigger {
                                steward_engine::history::Trigger::Schedule => "schedule",
                                steward_engine::history::Trigger::Manual => "manual",
                                steward_engine::history::Trigger::Catchup => "catchup",
                            };
                            Value::Struct(vec![
                                ("id".into(), Value::Int(r.id.min(i32::MAX as u64) as i32)),
                                ("scheduled".into(), rfc(r.scheduled)),
                                ("started".into(), rfc(Some(r.started))),
                                ("ended".into(), rfc(r.ended)),
                                (
                                    "duration".into(),
                                    Value::Double(
                                        r.duration().map(|d| d.as_secs_f64()).unwrap_or(-1.0),
                                    ),
                                ),
                                ("exitstatus".into(), Value::Int(r.exit_status.unwrap_or(0))),
                                ("trigger".into(), Value::String(trigger.into())),
                                ("timed_out".into(), Value::Bool(r.timed_out)),
                                ("error".into(), Value::String(r.error.unwrap_or_default())),
                                ("node".into(), Value::String(r.node.unwrap_or_default())),
                                (
                                    "fence".into(),
                                    Value::String(
                                        r.fence.map(|f| f.to_string()).unwrap_or_default(),
                                    ),
                                ),
                                (
                                    "skipped".into(),
                                    Value::String(r.skipped.unwrap_or_default()),
                                ),
                                (
                                    "output_head".into(),
                                    Value::String(
                                        String::from_utf8_lossy(&r.output_head).into_owned(),
                                    ),
                                ),
                                (
                                    "output_tail".into(),
                                    Value::String(
                                        String::from_utf8_lossy(&r.output_tail).into_owned(),
                                    ),
                                ),
                            ])
                        })
                        .collect(),
                ))
            }
            "cronRun" => {
                arity(p, 1, 1)?;
                let job = arg_str(p, 0)?.to_string();
                self.engine
                    .call(|reply| Request::CronRun {
                        name: job.clone(),
                        reply,
                    })
                    .await
                    .map_err(|e| action_fault(&e, &job))?;
                Ok(Value::Bool(true))
            }
            "getHealth" => {
                arity(p, 0, 0)?;
                Ok(crate::health::all(&self.engine.snapshot()))
            }
            _ => Err(fault(faults::UNKNOWN_METHOD, None)),
        }
    }

    fn check_state(&self) -> Result<(), Fault> {
        if self.engine.snapshot().state < steward_engine::SupervisorState::Running {
            Err(fault(faults::SHUTDOWN_STATE, None))
        } else {
            Ok(())
        }
    }

    async fn supervisor(&self, name: &str, params: Vec<Value>) -> RpcResult {
        if name != "sendRemoteCommEvent"
            && docs::method_help(&format!("supervisor.{name}")).is_some()
        {
            self.check_state()?;
        }
        let p = &params;
        match name {
            "getAPIVersion" | "getVersion" => {
                arity(p, 0, 0)?;
                Ok(API_VERSION.into())
            }
            "getSupervisorVersion" => {
                arity(p, 0, 0)?;
                Ok(SUPERVISOR_VERSION.into())
            }
            "getIdentification" => {
                arity(p, 0, 0)?;
                Ok(Value::String(self.engine.identifier.to_string()))
            }
            "getState" => {
                arity(p, 0, 0)?;
                let s = self.engine.snapshot().state;
                Ok(Value::Struct(vec![
                    ("statecode".into(), Value::Int(s.code())),
                    ("statename".into(), Value::String(s.name().into())),
                ]))
            }
            "getPID" => {
                arity(p, 0, 0)?;
                Ok(Value::Int(self.engine.pid))
            }
            "readLog" | "readMainLog" => {
                arity(p, 2, 2)?;
                let (offset, length) = (arg_int(p, 0)?, arg_int(p, 1)?);
                let path = self.engine.main_log.path().map(|p| p.to_path_buf());
                let Some(path) = path.filter(|p| p.exists()) else {
                    return Err(fault(faults::NO_FILE, None));
                };
                read_log(&path, offset, length)
            }
            "clearLog" => {
                arity(p, 0, 0)?;
                if self.engine.main_log.path().is_none() {
                    return Err(fault(faults::NO_FILE, None));
                }
                self.engine
                    .call(|reply| Request::ClearMainLog { reply })
                    .await
                    .map_err(|e| action_fault(&e, ""))?;
                Ok(Value::Bool(true))
            }
            "shutdown" => {
                arity(p, 0, 0)?;
                self.engine
                    .call(|reply| Request::Shutdown { reply })
                    .await
                    .map_err(|e| action_fault(&e, ""))?;
                Ok(Value::Bool(true))
            }
            "restart" => {
                arity(p, 0, 0)?;
                self.engine
                    .call(|reply| Request::Restart { reply })
                    .await
                    .map_err(|e| action_fault(&e, ""))?;
                Ok(Value::Bool(true))
            }
            "reloadConfig" => {
                arity(p, 0, 0)?;
                let diff = self
                    .engine
                    .call(|reply| Request::ReloadConfig { reply })
                    .await
                    .map_err(|e| action_fault(&e, ""))?;
                if let Some((config, _)) = self.engine.config_info().await {
                    *self.auto_names.lock().unwrap() = AutoNames {
                        parse: Some(config),
                        from_reload: true,
                        ..Default::default()
                    };
                }
                let list =
                    |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
                Ok(Value::Array(vec![Value::Array(vec![
                    list(diff.added),
                    list(diff.changed),
                    list(diff.removed),
                ])]))
            }
            "addProcessGroup" => {
                arity(p, 1, 1)?;
                // supervisord looks the name up in a dict: any other type is a BAD_NAME.
                let n = py_str(&p[0]);
                self.engine
                    .call(|reply| Request::AddGroup {
                        name: n.clone(),
                        reply,
                    })
                    .await
                    .map_err(|e| action_fault(&e, &n))?;
                self.auto_names
                    .lock()
                    .unwrap()
                    .added
                    .insert(n.as_str().into());
                self.observe_auto_names(&n).await;
                Ok(Value::Bool(true))
            }
            "removeProcessGroup" => {
                arity(p, 1, 1)?;
                let n = py_str(&p[0]);
                self.observe_auto_names(&n).await;
                self.engine
                    .call(|reply| Request::RemoveGroup {
                        name: n.clone(),
                        reply,
                    })
                    .await
                    .map_err(|e| action_fault(&e, &n))?;

                Ok(Value::Bool(true))
            }
            "startProcess" => {
                arity(p, 1, 2)?;
                let n = arg_str(p, 0)?;
                let wait = arg_wait(p, 1)?;
                self.start_or_stop(n, true, wait).await
            }
            "startProcessGroup" => {
                arity(p, 1, 2)?;
                let n = arg_str(p, 0)?;
                let wait = arg_wait(p, 1)?;
                self.start_or_stop_group(Some(n), true, wait).await
            }
            "startAllProcesses" => {
                arity(p, 0, 1)?;
                let wait = arg_wait(p, 0)?;
                self.start_or_stop_group(None, true, wait).await
            }
            "stopProcess" => {
                arity(p, 1, 2)?;
                let n = arg_str(p, 0)?;
                let wait = arg_wait(p, 1)?;
                self.start_or_stop(n, false, wait).await
            }
            "stopProcessGroup" => {
                arity(p, 1, 2)?;
                let n = arg_str(p, 0)?;
                let wait = arg_wait(p, 1)?;
                self.start_or_stop_group(Some(n), false, wait).await
            }
            "stopAllProcesses" => {
                arity(p, 0, 1)?;
                let wait = arg_wait(p, 0)?;
                self.start_or_stop_group(None, false, wait).await
            }
            "signalProcess" => {
                arity(p, 2, 2)?;
                let n = arg_str(p, 0)?;
                self.signal_process(n, &p[1]).await
            }
            "signalProcessGroup" => {
                arity(p, 2, 2)?;
                let n = arg_str(p, 0)?;
                self.signal_group(Some(n), &p[1]).await
            }
            "signalAllProcesses" => {
                arity(p, 1, 1)?;
                self.signal_group(None, &p[0]).await
            }
            "getAllConfigInfo" => {
                arity(p, 0, 0)?;
                self.all_config_info().await
            }
            "getProcessInfo" => {
                arity(p, 1, 1)?;
                let n = arg_str(p, 0)?;
                let snap = self.engine.snapshot();
                let info = self
                    .lookup(&snap, n)?
                    .ok_or_else(|| fault(faults::BAD_NAME, Some(n)))?;
                Ok(process_info(info, now_epoch()))
            }
            "getAllProcessInfo" => {
                arity(p, 0, 0)?;
                let snap = self.engine.snapshot();
                let now = now_epoch();
                Ok(Value::Array(
                    snap.processes
                        .iter()
                        .map(|p| process_info(p, now))
                        .collect(),
                ))
            }
            "readProcessStdoutLog" | "readProcessLog" | "readProcessStderrLog" => {
                arity(p, 3, 3)?;
                let n = arg_str(p, 0)?;
                let (offset, length) = (arg_int(p, 1)?, arg_int(p, 2)?);
                let snap = self.engine.snapshot();
                let info = self
                    .lookup(&snap, n)?
                    .ok_or_else(|| fault(faults::BAD_NAME, Some(n)))?;
                let path = if name == "readProcessStderrLog" {
                    &info.stderr_logfile
                } else {
                    &info.stdout_logfile
                };
                match path.as_ref().filter(|p| p.exists()) {
                    None => Err(fault(
                        faults::NO_FILE,
                        Some(
                            &path
                                .as_ref()
                                .map(|p| p.to_string_lossy().into_owned())
                                .unwrap_or_else(|| "None".into()),
                        ),
                    )),
                    Some(path) => read_log(path, offset, length),
                }
            }
            "tailProcessStdoutLog" | "tailProcessLog" | "tailProcessStderrLog" => {
                arity(p, 3, 3)?;
                let n = arg_str(p, 0)?;
                let (offset, length) = (arg_int(p, 1)?, arg_int(p, 2)?);
                let snap = self.engine.snapshot();
                let info = self
                    .lookup(&snap, n)?
                    .ok_or_else(|| fault(faults::BAD_NAME, Some(n)))?;
                let path = if name == "tailProcessStderrLog" {
                    &info.stderr_logfile
                } else {
                    &info.stdout_logfile
                };
                let (data, off, overflow) = match path.as_ref().filter(|p| p.exists()) {
                    None => (String::new(), 0, false),
                    Some(path) => tail_range(path, offset, length),
                };
                Ok(Value::Array(vec![
                    Value::String(data),
                    Value::Int(off.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
                    Value::Bool(overflow),
                ]))
            }
            "clearProcessLogs" | "clearProcessLog" => {
                arity(p, 1, 1)?;
                let n = arg_str(p, 0)?;
                let snap = self.engine.snapshot();
                let key = self.key_of(&snap, n)?;
                self.engine
                    .call(|reply| Request::ClearLogs { key, reply })
                    .await
                    .map_err(|e| match e {
                        ActionError::Failed(_) => fault(faults::FAILED, Some(n)),
                        e => action_fault(&e, n),
                    })?;
                Ok(Value::Bool(true))
            }
            "clearAllProcessLogs" => {
                arity(p, 0, 0)?;
                let snap = self.engine.snapshot();
                let mut results = Vec::new();
                for info in actions::priority_order(snap.processes.iter().map(|p| &**p)) {
                    let key = ProcKey {
                        group: info.group.clone(),
                        name: info.name.clone(),
                    };
                    let ns = actions::namespec(&info.group, &info.name);
                    match self
                        .engine
                        .call(|reply| Request::ClearLogs { key, reply })
                        .await
                    {
                        Ok(()) => results.push(result_struct(
                            &info.group,
                            &info.name,
                            faults::SUCCESS,
                            "OK",
                        )),
                        Err(_) => results.push(fault_struct(
                            &info.group,
                            &info.name,
                            &fault(faults::FAILED, Some(&ns)),
                        )),
                    }
                }
                Ok(Value::Array(results))
            }
            "sendProcessStdin" => {
                arity(p, 2, 2)?;
                let n = arg_str(p, 0)?;
                let data = match &p[1] {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Base64(b) => b.clone(),
                    other => return Err(fault(faults::INCORRECT_PARAMETERS, Some(&py_str(other)))),
                };
                let snap = self.engine.snapshot();
                let key = self.key_of(&snap, n)?;
                self.engine
                    .call(|reply| Request::SendStdin { key, data, reply })
                    .await
                    .map_err(|e| action_fault(&e, n))?;
                Ok(Value::Bool(true))
            }
            "sendRemoteCommEvent" => {
                arity(p, 2, 2)?;
                let kind = arg_str(p, 0)?.to_string();
                let data = arg_str(p, 1)?.to_string();
                self.engine
                    .publish(steward_engine::events::Event::RemoteCommunication { kind, data });
                Ok(Value::Bool(true))
            }
            _ => Err(fault(faults::UNKNOWN_METHOD, None)),
        }
    }

    /// `_getGroupAndProcess`: Ok(None) when the namespec names a whole group.
    fn lookup<'a>(
        &self,
        snap: &'a steward_engine::Snapshot,
        namespec: &'a str,
    ) -> Result<Option<&'a ProcInfo>, Fault> {
        match actions::resolve(snap, namespec) {
            Ok(Target::Process(info)) => Ok(Some(info)),
            Ok(Target::Group(_)) => Ok(None),
            Err(e) => Err(action_fault(&e, namespec)),
        }
    }

    fn key_of(&self, snap: &steward_engine::Snapshot, namespec: &str) -> Result<ProcKey, Fault> {
        let info = actions::process(snap, namespec).map_err(|e| action_fault(&e, namespec))?;
        Ok(ProcKey {
            group: info.group.clone(),
            name: info.name.clone(),
        })
    }

    /// startProcess / stopProcess: one process, or its whole group for `g:*` / `g:`.
    async fn start_or_stop(&self, namespec: &str, start: bool, wait: bool) -> RpcResult {
        let snap = self.engine.snapshot();
        match self.lookup(&snap, namespec)? {
            None => {
                let (g, _) = actions::split_namespec(namespec);
                self.start_or_stop_group(Some(g), start, wait).await
            }
            Some(info) => {
                let r = if start {
                    self.engine.start_process(info, wait).await
                } else {
                    self.engine.stop_process(info, wait).await
                };
                r.map_err(|e| action_fault(&e, namespec))?;
                Ok(Value::Bool(true))
            }
        }
    }

    /// The members of a group (or of everything) in priority order, or BAD_NAME.
    fn members(
        &self,
        snap: &steward_engine::Snapshot,
        group: Option<&str>,
    ) -> Result<Vec<ProcInfo>, Fault> {
        actions::members(snap, group).map_err(|e| action_fault(&e, group.unwrap_or("")))
    }

    /// start/stop of a group (`Some`) or of everything (`None`): supervisord's
    /// `make_allfunc` order, the immediate results in priority order, then the deferred
    /// ones.
    async fn start_or_stop_group(&self, group: Option<&str>, start: bool, wait: bool) -> RpcResult {
        let snap = self.engine.snapshot();
        let members = self.members(&snap, group)?;
        let action = if start {
            ManyAction::Start
        } else {
            ManyAction::Stop
        };
        let mut results = self.engine.act_on_many(members, action, wait).await;
        results.sort_by_key(|r| (r.deferred, r.index));
        Ok(Value::Array(results.iter().map(member_struct).collect()))
    }

    async fn signal_process(&self, namespec: &str, signal: &Value) -> RpcResult {
        let snap = self.engine.snapshot();
        match self.lookup(&snap, namespec)? {
            None => {
                let (g, _) = actions::split_namespec(namespec);
                self.signal_group(Some(g), signal).await
            }
            Some(info) => {
                let sig = parse_signal_value(signal)?;
                self.engine
                    .signal_process(info, sig)
                    .await
                    .map_err(|e| action_fault(&e, namespec))?;
                Ok(Value::Bool(true))
            }
        }
    }

    async fn signal_group(&self, group: Option<&str>, signal: &Value) -> RpcResult {
        let snap = self.engine.snapshot();
        let members = self.members(&snap, group)?;
        match parse_signal_value(signal) {
            // supervisord reports a bad signal once per member that could take one.
            Err(f) => Ok(Value::Array(
                members
                    .iter()
                    .filter(|m| m.state.is_signallable())
                    .map(|m| fault_struct(&m.group, &m.name, &f))
                    .collect(),
            )),
            Ok(sig) => {
                let results = self.engine.signal_many(members, sig).await;
                Ok(Value::Array(results.iter().map(member_struct).collect()))
            }
        }
    }

    async fn observe_auto_names(&self, group: &str) {
        if let Some((config, _)) = self.engine.config_info().await {
            let snap = self.engine.snapshot();
            self.auto_names
                .lock()
                .unwrap()
                .observe(&config, &snap, Some(group));
        }
    }

    async fn all_config_info(&self) -> RpcResult {
        let Some((config, active)) = self.engine.config_info().await else {
            return Err(fault(faults::SHUTDOWN_STATE, None));
        };
        let paths = {
            let mut auto = self.auto_names.lock().unwrap();
            auto.observe(&config, &self.engine.snapshot(), None);
            auto.paths.clone()
        };
        let mut rows: Vec<(String, Value)> = Vec::new();
        let opt_path = |p: &steward_config::LogFile, actual: Option<&Arc<std::path::Path>>| match p
        {
            steward_config::LogFile::Auto => match actual {
                Some(a) => Value::String(a.to_string_lossy().into_owned()),
                None => Value::String("auto".into()),
            },
            steward_config::LogFile::None | steward_config::LogFile::Syslog => {
                Value::String("none".into())
            }
            steward_config::LogFile::Path(p) => Value::String(p.to_string_lossy().into_owned()),
        };
        let int = |v: u64| Value::Int(v.min(i32::MAX as u64) as i32);
        // The six per-channel keys, in supervisord's order.
        let channel = |prefix: &str,
                       lc: &steward_config::LogChannelConfig,
                       actual: Option<&Arc<std::path::Path>>|
         -> Vec<(String, Value)> {
            vec![
                (
                    format!("{prefix}_capture_maxbytes"),
                    int(lc.capture_maxbytes),
                ),
                (
                    format!("{prefix}_events_enabled"),
                    Value::Bool(lc.events_enabled),
                ),
                (format!("{prefix}_logfile"), opt_path(&lc.file, actual)),
                (
                    format!("{prefix}_logfile_backups"),
                    Value::Int(lc.backups as i32),
                ),
                (format!("{prefix}_logfile_maxbytes"), int(lc.maxbytes)),
                (format!("{prefix}_syslog"), Value::Bool(lc.syslog)),
            ]
        };
        let active: std::collections::HashSet<&str> = active.iter().map(|a| &**a).collect();
        for g in &config.groups {
            let inuse = active.contains(g.name.as_str());
            let group: Arc<str> = g.name.as_str().into();
            for pc in &g.processes {
                let resolved = paths.get(&(group.clone(), pc.name.as_str().into()));
                let stdout_actual = resolved.and_then(|r| r.0.as_ref());
                let stderr_actual = resolved.and_then(|r| r.1.as_ref());
                let mut d: Vec<(String, Value)> = vec![
                    ("autostart".to_string(), Value::Bool(pc.autostart)),
                    (
                        "directory".into(),
                        pc.directory
                            .as_ref()
                            .map(|d| Value::String(d.to_string_lossy().into_owned()))
                            .unwrap_or_else(|| Value::String("none".into())),
                    ),
                    (
                        "uid".into(),
                        pc.uid
                            .map(|u| Value::Int(u as i32))
                            .unwrap_or_else(|| Value::String("none".into())),
                    ),
                    ("command".into(), Value::String(pc.command.clone())),
                    (
                        "exitcodes".into(),
                        Value::Array(pc.exitcodes.iter().map(|c| Value::Int(*c)).collect()),
                    ),
                    ("group".into(), Value::String(g.name.clone())),
                    ("group_prio".into(), Value::Int(g.priority)),
                    ("inuse".into(), Value::Bool(inuse)),
                    ("killasgroup".into(), Value::Bool(pc.killasgroup)),
                    ("name".into(), Value::String(pc.name.clone())),
                    ("process_prio".into(), Value::Int(pc.priority)),
                    ("redirect_stderr".into(), Value::Bool(pc.redirect_stderr)),
                    ("startretries".into(), Value::Int(pc.startretries as i32)),
                    ("startsecs".into(), int(pc.startsecs)),
                ];
                d.extend(channel("stdout", &pc.stdout, stdout_actual));
                d.push(("stopsignal".into(), Value::Int(pc.stopsignal)));
                d.push(("stopwaitsecs".into(), int(pc.stopwaitsecs)));
                d.extend(channel("stderr", &pc.stderr, stderr_actual));
                d.push((
                    "serverurl".into(),
                    pc.serverurl
                        .clone()
                        .map(Value::String)
                        .unwrap_or_else(|| Value::String("none".into())),
                ));
                rows.push((pc.name.clone(), Value::Struct(d)));
            }
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Value::Array(rows.into_iter().map(|(_, v)| v).collect()))
    }
}

/// Processes ordered as supervisord's `_getAllProcesses(lexical=False)`: groups by
/// priority, then processes by priority.
fn parse_signal_value(v: &Value) -> Result<i32, Fault> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        _ => return Err(fault(faults::BAD_SIGNAL, None)),
    };
    steward_config::parse_signal(&text).map_err(|_| fault(faults::BAD_SIGNAL, Some(&text)))
}

fn read_log(path: &std::path::Path, offset: i64, length: i64) -> RpcResult {
    match read_range(path, offset, length) {
        Ok(s) => Ok(Value::String(s)),
        Err(ReadError::BadArguments) => Err(fault(faults::BAD_ARGUMENTS, None)),
        Err(ReadError::NoFile) => Err(fault(faults::NO_FILE, Some(&path.to_string_lossy()))),
        Err(ReadError::Failed(_)) => Err(fault(faults::FAILED, None)),
    }
}

/// Waits until the engine's snapshot satisfies `cond` (used by tests and the web layer).
pub async fn wait_for(
    mut rx: watch::Receiver<Arc<steward_engine::Snapshot>>,
    cond: impl Fn(&steward_engine::Snapshot) -> bool,
) {
    loop {
        if cond(&rx.borrow()) {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use steward_config::{LoadOptions, MemoryTree};
    use steward_engine::ProcessState;

    fn sample_config() -> Arc<steward_config::ProcessConfig> {
        let mut tree = MemoryTree::default();
        tree.insert(
            "/t/supervisord.conf",
            "[supervisord]\n[program:web]\ncommand=/bin/true\n",
        );
        let opts = LoadOptions {
            env: Default::default(),
            host_node_name: "testhost".into(),
            check_system: false,
        };
        let config = steward_config::load_from_tree(
            &tree,
            std::path::Path::new("/t/supervisord.conf"),
            &opts,
        )
        .expect("the sample config loads");
        config.groups[0].processes[0].clone()
    }

    fn info(name: &str, state: ProcessState, pid: i32) -> Arc<ProcInfo> {
        let log = |bytes: &[u8]| {
            Some(Arc::from(std::path::Path::new(
                std::ffi::OsStr::from_bytes(bytes),
            )))
        };
        Arc::new(ProcInfo {
            group: Arc::from("g&<>"),
            name: Arc::from(name),
            group_priority: 999,
            state,
            pid,
            start: 1_700_000_000.5,
            stop: if pid == 0 { 1_700_000_100.0 } else { 0.0 },
            spawnerr: (state == ProcessState::Fatal).then(|| "can't find <command> & 'x'".into()),
            exitstatus: (state == ProcessState::Exited).then_some(3),
            term_signal: None,
            spawns: 1,
            stdout_logfile: log(b"/var/log/a&b<c>.log"),
            stderr_logfile: log(b"/var/log/not-utf8-\xff.log"),
            config: sample_config(),
            health: None,
            waiting_for: None,
        })
    }

    /// The direct writer must produce exactly the bytes of the generic encoder that
    /// supervisord's marshaller was matched against.
    #[test]
    fn all_process_info_fast_path_matches_the_value_encoder() {
        let processes = vec![
            info("<img src=x onerror=alert(1)>", ProcessState::Running, 4242),
            info("exited", ProcessState::Exited, 0),
            info("fatal", ProcessState::Fatal, 0),
            info("ünïcode ✓", ProcessState::Stopped, 0),
        ];
        let now = 1_700_000_200.25;
        let generic = xml::encode_response(&Value::Array(
            processes.iter().map(|p| process_info(p, now)).collect(),
        ));
        assert_eq!(encode_all_process_info(&processes, now), generic);
        assert!(generic.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert_eq!(
            encode_all_process_info(&[], now),
            xml::encode_response(&Value::Array(Vec::new()))
        );
    }
}
