//! `steward top`: a terminal UI over one or more daemons, Steward or a stock supervisord.
//!
//! Data flows one way. [`source`] runs a task per daemon that turns the JSON API's event
//! stream (Steward) or a polled XML-RPC `getAllProcessInfo` (supervisord) into
//! [`source::Update`]s; [`term::run`] feeds them, with the keys crossterm reads, into the
//! [`app::App`] state, and redraws with [`ui`] only when the state says the screen changed.
//! Keys become [`source::Request`]s that go back to the source they concern. [`model`] is
//! the vocabulary all of them share.

pub mod app;
pub mod model;
pub mod source;
pub mod term;
pub mod ui;

pub use source::SourceSpec;
pub use term::{run, Options, TopError};
