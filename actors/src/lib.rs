//! simrelay's reservation engine: one [`NumberActor`](number::NumberActor) per SIM number, a
//! [`Dispatcher`](dispatcher::Dispatcher) that answers GET_NUMBER, the availability index that
//! GET_SERVICES reads, activation expiry, and the [`Store`](store::Store) port that makes every
//! transition durable before it is acknowledged.
//!
//! The crate knows nothing of HTTP or Redis: the server wires it to its edges and to a store
//! implementation, tests and benches drive it directly.

mod archive;
mod banks;
pub mod clock;
mod contract;
mod deadlines;
mod delivery;
mod directory;
mod dispatcher;
pub mod domain;
mod engine;
mod error;
mod expiry;
mod fast;
mod ids;
mod index;
mod intake;
mod ledger;
mod number;
mod number_state;
mod outbox;
mod recovery;
mod shared;
mod sms;
pub mod store;
mod tasks;

pub use banks::{BankView, MAX_BANKS};
pub use clock::{Clock, ManualClock, SystemClock};
pub use contract::{
    BankReplaced, BankScope, EngineSettings, FinishOutcome, IncomingSms, NumberRequest,
    OperatorChoice, PartOf, Reservation, SimSpec, SimState, SimView, SmsFilter, SmsReceipt,
};
pub use engine::Engine;
pub use error::EngineError;
pub use index::{ListedSim, Stock, StockCountry};
pub use outbox::{DeliveryOutcome, DeliverySettings, SmsSink};
pub use recovery::RecoveryReport;
pub use recovery::{SCHEMA_KEY, SCHEMA_VERSION};
pub use sms::{SmsCounts, SmsEvents};
