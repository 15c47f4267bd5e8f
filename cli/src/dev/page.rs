//! The chat window: `kefu dev` serves, at `/` on its own port, a page that looks and behaves
//! like the mini program's customer-service conversation. The user's side is typed in the page;
//! WeChat's side (signing, sealing, the push) is done by `conversation.rs`; what comes back —
//! auto-replies, the passive answer, refusals, quota, hand-offs, rules reloads — is polled from
//! the timeline. Plain HTML, CSS and JavaScript compiled into the binary: no build step, no
//! network, works offline.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/page.css");
const SCRIPT: &str = include_str!("page/page.js");

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
        for text in [INDEX, STYLE, SCRIPT] {
            assert!(
                !text.contains("http://") && !text.contains("https://cdn"),
                "{text}"
            );
            assert!(!text.contains("<script src=\"http"));
        }
        assert!(INDEX.contains("/dev/page.js") && INDEX.contains("/dev/page.css"));
    }
}
