//! Every v1 answer is rendered here: SUCCESS with the action's typed reply, NO_NUMBERS in the
//! form `onlinesim.no_numbers_reply` asks for, and the ERROR of a refused request.
//!
//! Reply fields are declared in alphabetical order, `status` last: the bytes on the wire are
//! the ones simrelay has always sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::finish_activation::FinishActivationReply;
use super::get_number::GetNumberReply;
use super::get_services::GetServicesReply;
use crate::config::NoNumbersReply;
use crate::error::{json_response, ApiError, ErrorReply};

/// What an action answered, when the request was not refused.
pub(super) enum Reply {
    /// GET_SERVICES: the stock.
    Services(GetServicesReply),
    /// GET_NUMBER: the number reserved.
    Number(GetNumberReply),
    /// FINISH_ACTIVATION: done (now or before).
    Finished(FinishActivationReply),
    /// GET_NUMBER: nothing fits.
    NoNumbers,
}

/// `{…the action's fields…, "status": "SUCCESS"}`.
#[derive(Serialize)]
struct Success<'a, T> {
    #[serde(flatten)]
    reply: &'a T,
    status: &'static str,
}

/// `{"status": "NO_NUMBERS"}`.
#[derive(Serialize)]
struct NoNumbers {
    status: &'static str,
}

impl Reply {
    /// The outcome the request metric counts it under.
    pub(super) fn outcome(&self) -> &'static str {
        match self {
            Reply::Services(_) | Reply::Number(_) | Reply::Finished(_) => "success",
            Reply::NoNumbers => "no_numbers",
        }
    }

    /// The HTTP answer; `no_numbers` says how NO_NUMBERS is written.
    pub(super) fn render(&self, no_numbers: NoNumbersReply) -> HttpResponse {
        match self {
            Reply::Services(reply) => success(reply),
            Reply::Number(reply) => success(reply),
            Reply::Finished(reply) => success(reply),
            Reply::NoNumbers => match no_numbers {
                NoNumbersReply::NoNumbers => json_response(
                    StatusCode::OK,
                    &NoNumbers {
                        status: "NO_NUMBERS",
                    },
                ),
                NoNumbersReply::Error => {
                    json_response(StatusCode::OK, &ErrorReply::new("NO_NUMBERS"))
                }
            },
        }
    }
}

fn success<T: Serialize>(reply: &T) -> HttpResponse {
    json_response(
        StatusCode::OK,
        &Success {
            reply,
            status: "SUCCESS",
        },
    )
}

/// The answer to a refused request (the error shape every edge shares), logged as a warning
/// when the failure is ours, at debug level when it is the request's.
pub(super) fn refused(e: &ApiError) -> HttpResponse {
    if e.status.is_server_error() {
        tracing::warn!(error = %e, "v1 request failed");
    } else {
        tracing::debug!(error = %e, "v1 request refused");
    }
    e.error_response()
}

#[cfg(test)]
mod tests {
    use simrelay_actors::domain::{ActivationId, CountryName, Msisdn, OperatorName, ServiceName};
    use simrelay_actors::{Stock, StockCountry};

    use super::*;

    async fn bytes(reply: &Reply, no_numbers: NoNumbersReply) -> (StatusCode, String) {
        let response = reply.render(no_numbers);
        let status = response.status();
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap_or_else(|_| panic!("no body"));
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[actix_rt::test]
    async fn replies_keep_their_bytes() {
        let number = Reply::Number(GetNumberReply {
            activation_id: ActivationId::new(355).unwrap(),
            number: Msisdn::parse("79281234567").unwrap(),
        });
        assert_eq!(
            bytes(&number, NoNumbersReply::NoNumbers).await,
            (
                StatusCode::OK,
                r#"{"activationId":355,"number":79281234567,"status":"SUCCESS"}"#.into()
            )
        );
        let finished = Reply::Finished(FinishActivationReply {});
        assert_eq!(
            bytes(&finished, NoNumbersReply::NoNumbers).await.1,
            r#"{"status":"SUCCESS"}"#
        );
        assert_eq!(
            bytes(&Reply::NoNumbers, NoNumbersReply::NoNumbers).await,
            (StatusCode::OK, r#"{"status":"NO_NUMBERS"}"#.into())
        );
        assert_eq!(
            bytes(&Reply::NoNumbers, NoNumbersReply::Error).await,
            (
                StatusCode::OK,
                r#"{"error":"NO_NUMBERS","status":"ERROR"}"#.into()
            )
        );
    }

    #[actix_rt::test]
    async fn stock_is_keyed_by_name_in_name_order() {
        let service = |s: &str| ServiceName::parse(s).unwrap();
        let counts = |vk: u32, ok: u32| vec![(service("vk"), vk), (service("ok"), ok)];
        let stock = Stock {
            countries: vec![StockCountry {
                country: CountryName::parse("russia").unwrap(),
                operators: vec![
                    (OperatorName::parse("megafon").unwrap(), counts(1, 0)),
                    (OperatorName::parse("a1").unwrap(), counts(2, 3)),
                ],
                any: counts(3, 3),
            }],
        };
        let services = Reply::Services(stock.into());
        assert_eq!(
            bytes(&services, NoNumbersReply::NoNumbers).await.1,
            concat!(
                r#"{"countryList":[{"country":"russia","operatorMap":{"#,
                r#""a1":{"ok":3,"vk":2},"any":{"ok":3,"vk":3},"megafon":{"ok":0,"vk":1}}}],"#,
                r#""status":"SUCCESS"}"#
            )
        );
    }
}
