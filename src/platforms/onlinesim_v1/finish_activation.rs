//! FINISH_ACTIVATION: close an activation; repeats answer SUCCESS and change nothing.

use serde::Deserialize;
use serde_json::{Map, Value};
use simrelay_actors::domain::{ActivationId, FinishStatus};

use super::Reply;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "activationId")]
    activation_id: fields::IntOrText,
    status: i64,
    #[serde(default)]
    sum: Option<f64>,
}

pub(super) async fn handle(
    object: Map<String, Value>,
    state: &AppState,
) -> Result<Reply, ApiError> {
    let body: Body = fields::parse(object, &["activationId", "status"])?;
    let raw = body
        .activation_id
        .into_text()
        .trim()
        .parse::<u64>()
        .map_err(|_| ApiError::bad_field("activationId", "must be an integer ≥ 1"))?;
    let id = ActivationId::new(raw).map_err(|e| ApiError::bad_field("activationId", e))?;
    tracing::Span::current().record("activation_id", id.get());
    let status =
        FinishStatus::from_code(body.status).map_err(|e| ApiError::bad_field("status", e))?;
    let sum = body.sum.map(|s| fields::amount("sum", s)).transpose()?;
    state.engine.finish(id, status, sum).await?;
    Ok(Reply::Success(Map::new()))
}
