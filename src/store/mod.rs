//! Store implementations behind the engine's [`Store`](simrelay_actors::store::Store) port.

pub mod quarantine;
pub mod redis;

pub use self::redis::RedisStore;
pub use simrelay_actors::store::MemoryStore;
