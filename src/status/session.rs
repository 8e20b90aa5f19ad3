//! Status page sessions: who typed the admin token, kept in memory for a while.
//!
//! The browser holds only a random session id in an HttpOnly, SameSite=Strict cookie; the
//! admin token never leaves the login form. Each session carries its own CSRF token, which every
//! form that changes something must send back. Ids and tokens are compared in constant time, so
//! a lookup tells an attacker nothing about how close a guess was. A restart logs everyone out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use subtle::ConstantTimeEq;

/// The cookie that carries the session id.
pub const COOKIE: &str = "simrelay_status";
/// How long a session lasts after login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; a new login past this evicts the oldest.
pub const MAX_SESSIONS: usize = 32;

/// One logged-in browser.
#[derive(Clone)]
pub struct Session {
    /// The cookie's value: 128 random bits, hex.
    pub id: String,
    /// The CSRF token every POST form of this session carries: 128 random bits, hex.
    pub csrf: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Whether `candidate` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, candidate: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

/// The sessions of the status page, shared by every worker of the internal listener.
#[derive(Default)]
pub struct Sessions {
    live: Mutex<Vec<Session>>,
}

impl Sessions {
    /// Opens a session at `now`; `None` when the OS has no randomness to give (nothing is
    /// stored then). Expired sessions go first; past [`MAX_SESSIONS`] the oldest is dropped.
    pub fn open(&self, now: DateTime<Utc>) -> Option<Session> {
        let session = Session {
            id: random_hex()?,
            csrf: random_hex()?,
            expires_at: now + SESSION_TTL,
        };
        let mut live = self.live.lock();
        live.retain(|s| s.expires_at > now);
        if live.len() >= MAX_SESSIONS {
            // Sessions are pushed in login order: the first is the oldest.
            live.remove(0);
        }
        live.push(session.clone());
        Some(session)
    }

    /// The unexpired session with this id, if any.
    pub fn find(&self, id: &str, now: DateTime<Utc>) -> Option<Session> {
        let live = self.live.lock();
        // Every entry is compared, matched or not, in constant time each.
        let mut found = None;
        for session in live.iter() {
            if bool::from(session.id.as_bytes().ct_eq(id.as_bytes())) && session.expires_at > now {
                found = Some(session.clone());
            }
        }
        found
    }

    /// Ends the session with this id (logout).
    pub fn close(&self, id: &str) {
        self.live
            .lock()
            .retain(|s| !bool::from(s.id.as_bytes().ct_eq(id.as_bytes())));
    }
}

/// 16 bytes from the OS's generator, as 32 hex digits.
fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_session_is_found_until_it_expires_and_not_after_logout() {
        let sessions = Sessions::default();
        let s = sessions.open(t0()).unwrap();
        assert_eq!(s.id.len(), 32);
        assert_ne!(s.id, s.csrf);
        assert!(sessions.find(&s.id, t0()).is_some());
        assert!(sessions.find("0123", t0()).is_none());
        let later = t0() + SESSION_TTL;
        assert!(sessions.find(&s.id, later).is_none(), "expired");
        let other = sessions.open(t0()).unwrap();
        sessions.close(&other.id);
        assert!(sessions.find(&other.id, t0()).is_none(), "logged out");
    }

    #[test]
    fn sessions_are_bounded_and_the_oldest_goes_first() {
        let sessions = Sessions::default();
        let first = sessions.open(t0()).unwrap();
        let rest: Vec<_> = (0..MAX_SESSIONS)
            .map(|_| sessions.open(t0()).unwrap())
            .collect();
        assert!(sessions.find(&first.id, t0()).is_none());
        assert!(rest.iter().all(|s| sessions.find(&s.id, t0()).is_some()));
        assert_eq!(sessions.live.lock().len(), MAX_SESSIONS);
    }
}
