//! Bybit v5 linear enums, spelled exactly as on the wire (`docs/BYBIT.md` §7.3).
//!
//! Decisions:
//! - Enums the bot *sends* or branches on exhaustively (`Side`, `OrderType`, `TimeInForce`,
//!   `OrderStatus`, `PositionIdx`, `PositionMode`) are closed: an unknown value is a typed parse
//!   error, because guessing would be worse than stopping.
//! - Enums Bybit documents with a trailing "..." (`ExecType`, `CancelType`, `RejectReason`,
//!   `PositionStatus`) are open: an unknown value is kept verbatim in `Other(String)` so a new
//!   exchange value never breaks decoding of an otherwise good frame.
//! - `PositionIdx` and `PositionMode` are integers on the wire; the rest are strings.

use std::fmt;
use std::str::FromStr;

/// A wire value that is not one of a closed enum's documented values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value {text:?}")]
pub struct UnknownEnumValue {
    /// The enum's name, e.g. "orderStatus".
    pub kind: &'static str,
    /// The rejected text (truncated to 64 chars).
    pub text: String,
}

macro_rules! closed_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The exact wire text.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownEnumValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownEnumValue { kind: $kind, text: text.chars().take(64).collect() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value Bybit added after this list was written, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The exact wire text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(Self::from(text.as_ref()))
            }
        }
    };
}

closed_enum!(
    /// Order or execution side.
    Side, "side" {
        /// Buy.
        Buy => "Buy",
        /// Sell.
        Sell => "Sell",
    }
);

impl Side {
    /// The other side.
    #[must_use]
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }
}

closed_enum!(
    /// Order type. `Unknown` appears only in responses (e.g. funding executions).
    OrderType, "orderType" {
        /// Market order (an IOC limit inside a slippage band on Bybit).
        Market => "Market",
        /// Limit order.
        Limit => "Limit",
        /// Response-only placeholder.
        Unknown => "UNKNOWN",
    }
);

closed_enum!(
    /// Time in force. Market orders are always IOC.
    TimeInForce, "timeInForce" {
        /// Good till cancelled.
        Gtc => "GTC",
        /// Immediate or cancel.
        Ioc => "IOC",
        /// Fill or kill.
        Fok => "FOK",
        /// Maker only: cancelled if it would take liquidity on arrival.
        PostOnly => "PostOnly",
        /// Retail price improvement.
        Rpi => "RPI",
    }
);

closed_enum!(
    /// Order status (all values Bybit documents; `PartiallyFilledCanceled` is spot-only, a linear
    /// order that is cancelled after a partial fill is `Cancelled` with `cumExecQty > 0`).
    OrderStatus, "orderStatus" {
        /// Accepted, resting.
        New => "New",
        /// Partly filled, the rest resting.
        PartiallyFilled => "PartiallyFilled",
        /// Conditional order waiting for its trigger.
        Untriggered => "Untriggered",
        /// Rejected.
        Rejected => "Rejected",
        /// Spot only.
        PartiallyFilledCanceled => "PartiallyFilledCanceled",
        /// Completely filled.
        Filled => "Filled",
        /// Cancelled (possibly after partial fills).
        Cancelled => "Cancelled",
        /// Conditional order triggered (transient).
        Triggered => "Triggered",
        /// Conditional order cancelled before its trigger.
        Deactivated => "Deactivated",
    }
);

impl OrderStatus {
    /// True while the order can still fill: `New`, `PartiallyFilled`, `Untriggered`.
    #[must_use]
    pub const fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled | Self::Untriggered)
    }
}

open_enum!(
    /// Execution type.
    ExecType {
        /// A normal trade.
        Trade => "Trade",
        /// Auto-deleveraging trade.
        AdlTrade => "AdlTrade",
        /// Funding fee settlement.
        Funding => "Funding",
        /// Liquidation trade.
        BustTrade => "BustTrade",
        /// Futures delivery.
        Delivery => "Delivery",
        /// Settlement.
        Settle => "Settle",
        /// Block trade.
        BlockTrade => "BlockTrade",
        /// Position moved between accounts.
        MovePosition => "MovePosition",
        /// Spread trade leg.
        FutureSpread => "FutureSpread",
        /// Corporate action.
        CorporateAction => "CorporateAction",
        /// Unknown.
        Unknown => "UNKNOWN",
    }
);

open_enum!(
    /// Why an order was cancelled (derivatives).
    CancelType {
        /// By the user.
        CancelByUser => "CancelByUser",
        /// A reduce-only order that could no longer reduce.
        CancelByReduceOnly => "CancelByReduceOnly",
        /// Before liquidation.
        CancelByPrepareLiq => "CancelByPrepareLiq",
        /// All orders before liquidation.
        CancelAllBeforeLiq => "CancelAllBeforeLiq",
        /// Before auto-deleveraging.
        CancelByPrepareAdl => "CancelByPrepareAdl",
        /// All orders before auto-deleveraging.
        CancelAllBeforeAdl => "CancelAllBeforeAdl",
        /// By an administrator.
        CancelByAdmin => "CancelByAdmin",
        /// By settlement.
        CancelBySettle => "CancelBySettle",
        /// TP/SL/trailing cleared.
        CancelByTpSlTsClear => "CancelByTpSlTsClear",
        /// Self-match prevention.
        CancelBySmp => "CancelBySmp",
        /// Disconnect protection.
        CancelByDcp => "CancelByDCP",
        /// Not applicable.
        Unknown => "UNKNOWN",
    }
);

open_enum!(
    /// Why an order was rejected or ended.
    RejectReason {
        /// No error.
        NoError => "EC_NoError",
        /// A PostOnly order would have crossed the book.
        PostOnlyWillTakeLiquidity => "EC_PostOnlyWillTakeLiquidity",
        /// An IOC/FOK/market order found nothing to fill.
        NoImmediateQtyToFill => "EC_NoImmediateQtyToFill",
        /// Cancel raced a fill.
        OrigClOrdIdDoesNotExist => "EC_OrigClOrdIDDoesNotExist",
        /// Too many trades.
        ReachMaxTradeNum => "EC_ReachMaxTradeNum",
        /// Order value zero.
        CancelByOrderValueZero => "EC_CancelByOrderValueZero",
    }
);

open_enum!(
    /// Position status.
    PositionStatus {
        /// Normal.
        Normal => "Normal",
        /// Being liquidated.
        Liq => "Liq",
        /// Being auto-deleveraged.
        Adl => "Adl",
    }
);

macro_rules! int_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The wire integer.
            #[must_use]
            pub const fn as_i64(self) -> i64 {
                match self {
                    $(Self::$variant => $value),+
                }
            }
        }

        impl TryFrom<i64> for $name {
            type Error = UnknownEnumValue;

            fn try_from(value: i64) -> Result<Self, Self::Error> {
                match value {
                    $($value => Ok(Self::$variant),)+
                    _ => Err(UnknownEnumValue { kind: $kind, text: value.to_string() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.as_i64())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.as_i64())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = i64::deserialize(deserializer)?;
                Self::try_from(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

int_enum!(
    /// Which position an order belongs to: `0` one-way, `1` hedge long (Buy side), `2` hedge
    /// short (Sell side). In hedge mode a Sell on `Long` reduces the long leg.
    PositionIdx, "positionIdx" {
        /// One-way mode.
        OneWay = 0,
        /// Hedge mode, long leg.
        Long = 1,
        /// Hedge mode, short leg.
        Short = 2,
    }
);

int_enum!(
    /// Position mode of a symbol (`/v5/position/switch-mode`'s `mode`).
    PositionMode, "mode" {
        /// One-way ("merged single").
        OneWay = 0,
        /// Hedge ("both sides").
        Hedge = 3,
    }
);

/// One leg of a hedge-mode grid: the long leg buys to enter and sells to take profit, the short
/// leg the reverse. Each leg has its own position (`PositionIdx`), level and cycle counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    /// Long leg (`positionIdx` 1).
    Long,
    /// Short leg (`positionIdx` 2).
    Short,
}

impl Leg {
    /// Both legs, long first.
    pub const BOTH: [Leg; 2] = [Leg::Long, Leg::Short];

    /// The side that opens and averages the leg (Buy for long).
    #[must_use]
    pub const fn entry_side(self) -> Side {
        match self {
            Self::Long => Side::Buy,
            Self::Short => Side::Sell,
        }
    }

    /// The side that closes the leg (Sell for long).
    #[must_use]
    pub const fn exit_side(self) -> Side {
        self.entry_side().opposite()
    }

    /// The hedge-mode position index.
    #[must_use]
    pub const fn position_idx(self) -> PositionIdx {
        match self {
            Self::Long => PositionIdx::Long,
            Self::Short => PositionIdx::Short,
        }
    }

    /// `L` or `S`, as in order-link ids.
    #[must_use]
    pub const fn letter(self) -> char {
        match self {
            Self::Long => 'L',
            Self::Short => 'S',
        }
    }
}

/// Why the bot placed an order. Encoded in its orderLinkId so recovery can read it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderRole {
    /// The entry order of a progressive cycle (level 0), placed near the market.
    Balance,
    /// An averaging order at a deeper level of a progressive cycle.
    Protective,
    /// The reduce-only exit at average entry ± take-profit distance.
    TakeProfit,
    /// A risk-initiated close (reduce-only, usually market).
    Close,
    /// An order of a classic range grid level.
    ClassicLevel,
}

impl OrderRole {
    /// Every role.
    pub const ALL: [OrderRole; 5] =
        [Self::Balance, Self::Protective, Self::TakeProfit, Self::Close, Self::ClassicLevel];

    /// True for roles that add to a position (entries and averaging orders).
    #[must_use]
    pub const fn opens(self) -> bool {
        matches!(self, Self::Balance | Self::Protective | Self::ClassicLevel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_enums_round_trip_their_wire_text() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), *s);
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(serde_json::from_str::<OrderStatus>(&json).unwrap(), *s);
        }
        for t in TimeInForce::ALL {
            assert_eq!(t.as_str().parse::<TimeInForce>().unwrap(), *t);
        }
        assert_eq!(TimeInForce::Gtc.as_str(), "GTC");
        assert_eq!(OrderType::Unknown.as_str(), "UNKNOWN");
        let err = "Canceled".parse::<OrderStatus>().unwrap_err();
        assert_eq!(err.kind, "orderStatus");
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        assert_eq!(CancelType::from("CancelByDCP"), CancelType::CancelByDcp);
        let new = CancelType::from("CancelByNewThing");
        assert_eq!(new, CancelType::Other("CancelByNewThing".into()));
        assert_eq!(new.as_str(), "CancelByNewThing");
        let e: ExecType = serde_json::from_str("\"Funding\"").unwrap();
        assert_eq!(e, ExecType::Funding);
        assert_eq!(RejectReason::from("EC_PostOnlyWillTakeLiquidity"), RejectReason::PostOnlyWillTakeLiquidity);
    }

    #[test]
    fn integer_enums_are_integers_on_the_wire() {
        assert_eq!(serde_json::to_string(&PositionIdx::Short).unwrap(), "2");
        assert_eq!(serde_json::from_str::<PositionIdx>("1").unwrap(), PositionIdx::Long);
        assert!(serde_json::from_str::<PositionIdx>("3").is_err());
        assert_eq!(PositionMode::Hedge.as_i64(), 3);
        assert!(PositionMode::try_from(1).is_err());
    }

    #[test]
    fn legs_know_their_sides() {
        assert_eq!(Leg::Long.entry_side(), Side::Buy);
        assert_eq!(Leg::Short.exit_side(), Side::Buy);
        assert_eq!(Leg::Short.position_idx(), PositionIdx::Short);
        assert_eq!(Leg::BOTH.map(Leg::letter), ['L', 'S']);
    }

    #[test]
    fn order_status_openness() {
        let open: Vec<_> = OrderStatus::ALL.iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [&OrderStatus::New, &OrderStatus::PartiallyFilled, &OrderStatus::Untriggered]);
    }
}
