//! The chat window: `kefu dev` serves, at `/` on its own port, a page that looks and behaves
//! like the mini program's customer-service conversation. The user's side is typed in the page;
//! WeChat's side (signing, sealing, the push) is done by `conversation.rs`; what comes back —
//! auto-replies, the passive answer, refusals, quota, hand-offs, rules reloads — is polled from
//! the timeline. Plain HTML, CSS and JavaScript compiled into the binary: no build step, no
//! network, works offline. Served at `/`, `/dev/page.css`, `/dev/page.js` and `/favicon.svg`
//! (also as `/favicon.ico`); an image reply is shown from the sandbox's
//! `GET /sandbox/media/{media_id}`, the bytes the reply function uploaded.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/page.css");
const SCRIPT: &str = include_str!("page/page.js");
/// A speech bubble in WeChat's green, so that the tab is told apart (and `/favicon.ico`
/// answers rather than 404).
const ICON: &str = include_str!("page/favicon.svg");

pub(super) fn routes() -> axum::Router {
    axum::Router::new()
        .route(
            "/",
            get(|| async { page(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/dev/page.css",
            get(|| async { page(STYLE, "text/css; charset=utf-8") }),
        )
        .route(
            "/dev/page.js",
            get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/favicon.svg",
            get(|| async { page(ICON, "image/svg+xml") }),
        )
        .route(
            "/favicon.ico",
            get(|| async { page(ICON, "image/svg+xml") }),
        )
}

fn page(body: &'static str, content_type: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_the_network() {
        for text in [INDEX, STYLE, SCRIPT, ICON] {
            // The SVG namespace is a name, never fetched.
            let text = &text.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://cdn"),
                "{text}"
            );
            assert!(!text.contains("<script src=\"http"));
        }
        assert!(INDEX.contains("/dev/page.js") && INDEX.contains("/dev/page.css"));
        assert!(INDEX.contains("/favicon.svg") && ICON.starts_with("<svg"));
    }
}
