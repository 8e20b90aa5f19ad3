//! A browser-like client of the status page: no automatic redirects (the tests look at each
//! 303), the session cookie kept by hand, the CSRF token read from the page.

use reqwest::{header, StatusCode};

use crate::delivery::helpers::{TestApp, ADMIN_TOKEN};
use crate::kit::app::client_builder;

/// One browser: its session cookie, if logged in.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub client: reqwest::Client,
    /// `simrelay_status=<id>`, once logged in.
    pub cookie: Option<String>,
}

/// A reply: status, `Location`, `Set-Cookie` and the body.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            client: client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: None,
        }
    }

    async fn page(&self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(c) => request.header(header::COOKIE, c),
            None => request,
        };
        let response = request.send().await.expect("status page request");
        let header_of = |name| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().expect("ASCII header").to_owned())
        };
        let (location, set_cookie) = (header_of(header::LOCATION), header_of(header::SET_COOKIE));
        Page {
            status: response.status(),
            location,
            set_cookie,
            body: response.text().await.expect("a body"),
        }
    }

    /// GET a path of the app.
    pub async fn get(&self, path: &str) -> Page {
        self.page(self.client.get(format!("{}{path}", self.app.address)))
            .await
    }

    /// POST a form to a path of the app.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.page(
            self.client
                .post(format!("{}{path}", self.app.address))
                .form(form),
        )
        .await
    }

    /// Logs in with `token`; keeps the cookie when one is set.
    pub async fn login_with(&mut self, token: &str) -> Page {
        let page = self.post("/status/login", &[("token", token)]).await;
        if let Some(set) = &page.set_cookie {
            let pair = set.split(';').next().expect("a cookie pair").to_owned();
            self.cookie = Some(pair);
        }
        page
    }

    /// Logs in with the right token and asserts it worked.
    pub async fn login(&mut self) {
        let page = self.login_with(ADMIN_TOKEN).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location.as_deref(), Some("/status"));
    }

    /// The overview, asserted 200.
    pub async fn overview(&self, query: &str) -> String {
        let page = self.get(&format!("/status{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.body
    }
}

/// The CSRF token of the first form in `html`.
pub fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    let len = html[start..].find('"').expect("the end of the value");
    html[start..start + len].to_owned()
}

/// The table row with this element id, as HTML.
pub fn row<'h>(html: &'h str, id: &str) -> Option<&'h str> {
    let start = html.find(&format!(r#"<tr id="{id}">"#))?;
    let len = html[start..].find("</tr>")?;
    Some(&html[start..start + len])
}
