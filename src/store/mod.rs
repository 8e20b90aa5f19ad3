//! Store implementations behind the engine's [`Store`](simrelay_actors::store::Store) port.

pub mod memory;
pub mod quarantine;
pub mod redis;

pub use self::redis::RedisStore;
pub use memory::MemoryStore;
