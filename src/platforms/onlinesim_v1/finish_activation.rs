//! FINISH_ACTIVATION: close an activation under the platform's FINISH rules; repeats answer
//! SUCCESS and change nothing; another platform's activation is unknown here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use simrelay_actors::domain::{ActivationId, FinishStatus};

use super::PullPlatform;
use crate::error::ApiError;
use crate::fields::{self, IntOrText};
use crate::state::AppState;

/// FINISH_ACTIVATION as it arrives.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "activationId")]
    activation_id: IntOrText,
    status: i64,
    #[serde(default)]
    sum: Option<f64>,
}

/// What a FINISH_ACTIVATION asks for, parsed.
#[derive(Debug)]
pub(super) struct FinishActivationRequest {
    /// The activation to close.
    id: ActivationId,
    /// How it ended (1, 3, 4 or 5 on the wire).
    status: FinishStatus,
    /// The price the platform reports, if it does.
    sum: Option<f64>,
}

impl FinishActivationRequest {
    /// Parses the body; the activation id joins the request's span as soon as it is known, so
    /// a refusal of the other fields is logged with it.
    fn parse(object: Map<String, Value>) -> Result<FinishActivationRequest, ApiError> {
        let wire: Wire = fields::parse(object, &["activationId", "status"])?;
        let raw = wire
            .activation_id
            .into_text()
            .trim()
            .parse::<u64>()
            .map_err(|_| ApiError::bad_field("activationId", "must be an integer ≥ 1"))?;
        let id = ActivationId::new(raw).map_err(|e| ApiError::bad_field("activationId", e))?;
        tracing::Span::current().record("activation_id", id.get());
        let status =
            FinishStatus::from_code(wire.status).map_err(|e| ApiError::bad_field("status", e))?;
        let sum = wire.sum.map(|s| fields::amount("sum", s)).transpose()?;
        Ok(FinishActivationRequest { id, status, sum })
    }
}

/// FINISH_ACTIVATION's answer: no fields besides `status` (a repeat answers the same).
#[derive(Debug, Serialize)]
pub(super) struct FinishActivationReply {}

pub(super) async fn handle(
    object: Map<String, Value>,
    state: &AppState,
    platform: &PullPlatform,
) -> Result<FinishActivationReply, ApiError> {
    let request = FinishActivationRequest::parse(object)?;
    state
        .engine
        .finish_as(
            &platform.platform.name,
            request.id,
            request.status,
            request.sum,
            platform.rules.finish,
        )
        .await?;
    Ok(FinishActivationReply {})
}
