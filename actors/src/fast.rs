//! Hash maps for the engine's big tables (a million numbers, listings, ports): foldhash is several
//! times faster than the standard SipHash on these small keys, and still seeded per process, so
//! the keys a gateway sends cannot be chosen to collide.

/// A `HashMap` with foldhash.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A `HashSet` with foldhash.
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
