//! One SIM pool sold on several platforms at once: OnlineSIM v1 (the `[onlinesim]` section),
//! SMSHub and OnlineSIM v2 side by side, against a fake SMSHub next to the fake OnlineSIM.

mod beside_v2;
mod selling;
mod smshub;
