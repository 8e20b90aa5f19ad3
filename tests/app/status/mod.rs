//! The status page (`/status`): login with the admin token, the session cookie, CSRF on every
//! form, the redeliver and release buttons, and the page in headless Chromium (`browser`).

mod browser;
mod forms;
pub(crate) mod helpers;
