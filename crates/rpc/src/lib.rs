//! XML-RPC: the codec (value, xml) shared with `steward ctl`, and the supervisor.* method
//! table mapped onto the engine.

pub mod value;
pub use value::{Fault, Value};
pub mod client;
pub mod docs;
pub mod faults;
pub mod health;
pub mod methods;
pub mod xml;
pub use methods::{AuditHook, Rpc};
