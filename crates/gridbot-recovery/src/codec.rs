//! The orderLinkId codec (ARCHITECTURE §3): every order says who placed it and why, so recovery can
//! read the state back from the exchange's order and execution history.
//!
//! Version 2 (written): `g2{account}-{L|S}{cycle}-{role}{level}-{nonce}`, numbers in base 36:
//! e.g. `g2acc1-L1c-P3-k2f9a` = account `acc1`, long leg, cycle 48, protective, level 3.
//! At most 2 + 6 + 1 + 8 + 1 + 8 + 1 + 7 = 34 characters of `[A-Za-z0-9-]`.
//!
//! Version 1 (read only): `gb1_{account}_{L|S}_{cycle}_{role}_{level}_{nonce}` in decimal, the
//! earlier, longer form; orders placed by older builds still decode.
//!
//! Roles: `B` balance (entry), `P` protective, `T` take-profit, `C` close, `G` classic grid
//! level. Anything that does not decode is *foreign* (placed by someone else): recovery never
//! adopts it.

use gridbot_core::{Leg, OrderLinkId, OrderRole};

/// Longest account tag.
pub const MAX_ACCOUNT_TAG: usize = 6;

/// What an orderLinkId says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct LinkTag {
    /// Account tag, 1–6 of `[A-Za-z0-9]`.
    pub account: String,
    /// Leg.
    pub leg: Leg,
    /// The leg's cycle number.
    pub cycle: u32,
    /// Why the order was placed.
    pub role: OrderRole,
    /// Grid level (0 for balance orders and take-profits' reference).
    pub level: u32,
    /// Uniqueness within (account, leg, cycle, role, level): e.g. a counter or clock bits.
    pub nonce: u32,
}

/// Why a text is not one of our ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Not our format (placed by another tool, or by hand).
    #[error("foreign orderLinkId {0:?}")]
    Foreign(String),
    /// Our prefix, but a field does not parse.
    #[error("orderLinkId {id:?}: bad {field}")]
    Malformed {
        /// The id.
        id: String,
        /// The field.
        field: &'static str,
    },
    /// An account tag that cannot be encoded.
    #[error("account tag {0:?}: expected 1 to 6 of A-Z, a-z, 0-9")]
    BadAccountTag(String),
}

const fn role_letter(role: OrderRole) -> char {
    match role {
        OrderRole::Balance => 'B',
        OrderRole::Protective => 'P',
        OrderRole::TakeProfit => 'T',
        OrderRole::Close => 'C',
        OrderRole::ClassicLevel => 'G',
    }
}

fn role_of(c: char) -> Option<OrderRole> {
    OrderRole::ALL.into_iter().find(|r| role_letter(*r) == c)
}

fn leg_of(c: char) -> Option<Leg> {
    match c {
        'L' => Some(Leg::Long),
        'S' => Some(Leg::Short),
        _ => None,
    }
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::with_capacity(7);
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn valid_tag(tag: &str) -> bool {
    (1..=MAX_ACCOUNT_TAG).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl LinkTag {
    /// The id, in the current version.
    pub fn encode(&self) -> Result<OrderLinkId, CodecError> {
        if !valid_tag(&self.account) {
            return Err(CodecError::BadAccountTag(self.account.clone()));
        }
        let text = format!(
            "g2{}-{}{}-{}{}-{}",
            self.account,
            self.leg.letter(),
            base36(self.cycle),
            role_letter(self.role),
            base36(self.level),
            base36(self.nonce)
        );
        OrderLinkId::new(text).map_err(|e| CodecError::Malformed { id: e.text, field: "length" })
    }

    /// Decodes any version.
    pub fn decode(id: &str) -> Result<Self, CodecError> {
        if let Some(rest) = id.strip_prefix("g2") {
            decode_v2(id, rest)
        } else if let Some(rest) = id.strip_prefix("gb1_") {
            decode_v1(id, rest)
        } else {
            Err(CodecError::Foreign(id.to_owned()))
        }
    }
}

fn decode_v2(id: &str, rest: &str) -> Result<LinkTag, CodecError> {
    let bad = |field| CodecError::Malformed { id: id.to_owned(), field };
    let mut parts = rest.split('-');
    let (Some(account), Some(leg_cycle), Some(role_level), Some(nonce), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("layout"));
    };
    if !valid_tag(account) {
        return Err(bad("account"));
    }
    let num = |s: &str, field| {
        if s.is_empty() { Err(bad(field)) } else { u32::from_str_radix(s, 36).map_err(|_| bad(field)) }
    };
    let mut lc = leg_cycle.chars();
    let leg = lc.next().and_then(leg_of).ok_or_else(|| bad("leg"))?;
    let mut rl = role_level.chars();
    let role = rl.next().and_then(role_of).ok_or_else(|| bad("role"))?;
    // base 36 is written lowercase; uppercase would make two spellings of one id
    let lower = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    let (cycle, level) = (lc.as_str(), rl.as_str());
    if !(lower(cycle) && lower(level) && lower(nonce)) {
        return Err(bad("digits"));
    }
    Ok(LinkTag {
        account: account.to_owned(),
        leg,
        cycle: num(cycle, "cycle")?,
        role,
        level: num(level, "level")?,
        nonce: num(nonce, "nonce")?,
    })
}

fn decode_v1(id: &str, rest: &str) -> Result<LinkTag, CodecError> {
    let bad = |field| CodecError::Malformed { id: id.to_owned(), field };
    let parts: Vec<&str> = rest.split('_').collect();
    let [account, leg, cycle, role, level, nonce] = parts.as_slice() else { return Err(bad("layout")) };
    let one = |s: &str| {
        let mut c = s.chars();
        match (c.next(), c.next()) {
            (Some(ch), None) => Some(ch),
            _ => None,
        }
    };
    let num = |s: &str, field| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(field));
        }
        s.parse::<u32>().map_err(|_| bad(field))
    };
    if !valid_tag(account) {
        return Err(bad("account"));
    }
    Ok(LinkTag {
        account: (*account).to_owned(),
        leg: one(leg).and_then(leg_of).ok_or_else(|| bad("leg"))?,
        cycle: num(cycle, "cycle")?,
        role: one(role).and_then(role_of).ok_or_else(|| bad("role"))?,
        level: num(level, "level")?,
        nonce: num(nonce, "nonce")?,
    })
}

/// Encodes in the legacy version 1 form (for tests of old orders; never written by the bot).
#[must_use]
pub fn encode_v1(tag: &LinkTag) -> String {
    format!(
        "gb1_{}_{}_{}_{}_{}_{}",
        tag.account,
        tag.leg.letter(),
        tag.cycle,
        role_letter(tag.role),
        tag.level,
        tag.nonce
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tag(account: &str, leg: Leg, cycle: u32, role: OrderRole, level: u32, nonce: u32) -> LinkTag {
        LinkTag { account: account.into(), leg, cycle, role, level, nonce }
    }

    #[test]
    fn examples() {
        let t = tag("acc1", Leg::Long, 48, OrderRole::Protective, 3, 34_562_590);
        let id = t.encode().unwrap();
        assert_eq!(id.as_str(), "g2acc1-L1c-P3-kksny"); // 48 = 1c, 34562590 = kksny in base 36
        assert_eq!(LinkTag::decode(id.as_str()).unwrap(), t);
        assert_eq!(LinkTag::decode("gb1_acc1_L_48_P_3_77").unwrap(), LinkTag { nonce: 77, ..t.clone() });
        let max = tag("abcdef", Leg::Short, u32::MAX, OrderRole::TakeProfit, u32::MAX, u32::MAX).encode().unwrap();
        assert!(max.as_str().len() <= 36, "{}", max.as_str().len());
        for foreign in ["", "grid-1", "manual", "x2acc-L1-P1-1"] {
            assert!(matches!(LinkTag::decode(foreign), Err(CodecError::Foreign(_))), "{foreign}");
        }
        for malformed in [
            "g2acc1-X1-P3-1",
            "g2acc1-L1-Z3-1",
            "g2acc1-L-P3-1",
            "g2acc1-L1-P3",
            "g2acc1-L1-P3-1-2",
            "g2toolongtag-L1-P3-1",
            "g2acc1-L1C-P3-1",
            "gb1_acc_L_1_P_x_1",
        ] {
            assert!(matches!(LinkTag::decode(malformed), Err(CodecError::Malformed { .. })), "{malformed}");
        }
        assert!(matches!(
            tag("bad tag", Leg::Long, 1, OrderRole::Balance, 0, 0).encode(),
            Err(CodecError::BadAccountTag(_))
        ));
    }

    fn any_tag() -> impl Strategy<Value = LinkTag> {
        (
            "[A-Za-z0-9]{1,6}",
            prop_oneof![Just(Leg::Long), Just(Leg::Short)],
            any::<u32>(),
            prop::sample::select(OrderRole::ALL.to_vec()),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(|(account, leg, cycle, role, level, nonce)| LinkTag {
                account,
                leg,
                cycle,
                role,
                level,
                nonce,
            })
    }

    proptest! {
        #[test]
        fn every_tag_round_trips_within_bybit_limits(t in any_tag()) {
            let id = t.encode().unwrap();
            prop_assert!(id.as_str().len() <= 36);
            prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(LinkTag::decode(id.as_str()).unwrap(), t);
        }

        #[test]
        fn every_version_1_id_that_fits_still_parses(t in any_tag()) {
            let id = encode_v1(&t);
            if id.len() <= 36 {
                prop_assert_eq!(LinkTag::decode(&id).unwrap(), t);
            }
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = LinkTag::decode(&s);
        }
    }
}
