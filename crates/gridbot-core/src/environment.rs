//! Where a client connects: Bybit's mainnet, testnet or demo trading, or any base URL (the
//! local simulator). Only the URLs differ; every byte sent is the same.

/// A Bybit environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// `api.bybit.com` / `stream.bybit.com`.
    Mainnet,
    /// `api-testnet.bybit.com` / `stream-testnet.bybit.com`.
    Testnet,
    /// Demo trading: `api-demo.bybit.com`; private stream `stream-demo.bybit.com`, public
    /// market data from mainnet's stream (demo trades against mainnet prices).
    Demo,
    /// Any server speaking Bybit v5, e.g. `http://127.0.0.1:8080` for gridbot-sim. WebSocket
    /// URLs are derived by swapping the scheme (`http` → `ws`, `https` → `wss`).
    Custom {
        /// REST base URL, without a trailing slash.
        rest_base: String,
    },
}

impl Environment {
    /// An environment from a base URL (trailing slashes removed).
    #[must_use]
    pub fn custom(base_url: &str) -> Self {
        Self::Custom { rest_base: base_url.trim_end_matches('/').to_owned() }
    }

    /// REST base URL.
    #[must_use]
    pub fn rest_base(&self) -> &str {
        match self {
            Self::Mainnet => "https://api.bybit.com",
            Self::Testnet => "https://api-testnet.bybit.com",
            Self::Demo => "https://api-demo.bybit.com",
            Self::Custom { rest_base } => rest_base,
        }
    }

    fn ws_base(&self, private: bool) -> String {
        match self {
            Self::Mainnet => "wss://stream.bybit.com".to_owned(),
            Self::Testnet => "wss://stream-testnet.bybit.com".to_owned(),
            Self::Demo if private => "wss://stream-demo.bybit.com".to_owned(),
            Self::Demo => "wss://stream.bybit.com".to_owned(),
            Self::Custom { rest_base } => {
                if let Some(rest) = rest_base.strip_prefix("https://") {
                    format!("wss://{rest}")
                } else if let Some(rest) = rest_base.strip_prefix("http://") {
                    format!("ws://{rest}")
                } else {
                    rest_base.clone()
                }
            }
        }
    }

    /// The public linear stream URL.
    #[must_use]
    pub fn ws_public_linear(&self) -> String {
        format!("{}/v5/public/linear", self.ws_base(false))
    }

    /// The private stream URL.
    #[must_use]
    pub fn ws_private(&self) -> String {
        format!("{}/v5/private", self.ws_base(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(Environment::Mainnet.rest_base(), "https://api.bybit.com");
        assert_eq!(Environment::Testnet.ws_private(), "wss://stream-testnet.bybit.com/v5/private");
        assert_eq!(Environment::Demo.ws_public_linear(), "wss://stream.bybit.com/v5/public/linear");
        assert_eq!(Environment::Demo.ws_private(), "wss://stream-demo.bybit.com/v5/private");
        let sim = Environment::custom("http://127.0.0.1:9000/");
        assert_eq!(sim.rest_base(), "http://127.0.0.1:9000");
        assert_eq!(sim.ws_public_linear(), "ws://127.0.0.1:9000/v5/public/linear");
    }
}
