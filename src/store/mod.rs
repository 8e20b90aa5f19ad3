//! Store implementations behind the engine's [`Store`](simrelay_actors::store::Store) port.

pub mod memory;

pub use memory::MemoryStore;
