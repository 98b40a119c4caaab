//! Records: hash-chained append-only logs (the decision log and the
//! administration audit trail share one [`ChainLog`]), decision records of
//! plugin calls, and reading them back for verification and replay.

mod chain;
mod decisions;
mod key;

pub use chain::{Broken, ChainLog, SYNC_EVERY, Verified, read as read_log, verify as verify_log};
pub use decisions::{
    DecisionLog, DecisionRecord, RecordError, find as find_record, recorded_settings,
};
pub(crate) use decisions::{Recordable, new_record_id, outcome};
pub use key::{LogKey, LogKeyError};
