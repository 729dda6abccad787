//! The daemon's time zone: an IANA zone from the tz database, usable as a chrono [`TimeZone`] so that
//! cron schedules are read in local time.
//!
//! Why not chrono-tz: it compiles the whole tz database into tables of string pointers, 28,000 of
//! them, which the dynamic loader relocates at the start of every `regstat` process, daemon or not:
//! with it the loader wrote 448 pages of the binary, without it 205, and `regstat --version` took 490
//! page faults instead of 754 (perf stat). jiff bundles the same database as one blob that needs no
//! relocation. The bundled copy is used rather than the system's zoneinfo because jiff walks the whole
//! zoneinfo tree (about 1,800 files) before its first lookup, and every command loads the config; the
//! database is then as current as the jiff release, as it was with chrono-tz. This module adapts a
//! jiff zone to chrono's trait, which the `cron` crate needs.

use std::fmt;
use std::sync::Arc;

use chrono::{FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, Offset, TimeZone};
use jiff::tz::AmbiguousOffset;

/// An IANA time zone, such as Europe/Moscow. Cheap to clone: each offset carries its zone.
#[derive(Clone)]
pub struct Zone {
    name: Arc<str>,
    rules: jiff::tz::TimeZone,
}

impl Zone {
    /// The zone of an IANA name; the error is one line naming it.
    pub fn named(name: &str) -> Result<Self, String> {
        let rules = jiff::tz::TimeZoneDatabase::bundled()
            .get(name)
            .map_err(|_| format!("not an IANA time zone: {name:?}"))?;
        // The database's spelling: its lookup ignores case.
        let name = Arc::from(rules.iana_name().unwrap_or(name));
        Ok(Self { name, rules })
    }

    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self {
            name: Arc::from("UTC"),
            rules: jiff::tz::TimeZone::UTC,
        }
    }

    /// The IANA name, as the database spells it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offset from UTC in force at a UTC instant. Instants beyond jiff's range (years ±9999) take
    /// the offset at its nearest end.
    fn offset_at(&self, utc: &NaiveDateTime) -> ZoneOffset {
        let utc = utc.and_utc();
        let instant = jiff::Timestamp::new(utc.timestamp(), 0).unwrap_or(if utc.timestamp() < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        self.fixed(self.rules.to_offset(instant))
    }

    fn fixed(&self, offset: jiff::tz::Offset) -> ZoneOffset {
        // jiff keeps offsets within ±25:59:59, chrono within ±24h; none in the tz database comes near.
        let fixed = FixedOffset::east_opt(offset.seconds()).unwrap_or_else(|| chrono::Utc.fix());
        ZoneOffset {
            zone: self.clone(),
            fixed,
        }
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A zone's offset at one moment; it carries its zone because chrono rebuilds a zone from an offset.
#[derive(Clone, PartialEq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Debug for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.zone.name, self.fixed)
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Self {
        offset.zone.clone()
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<ZoneOffset> {
        self.offset_from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
    }

    /// A local time in a gap (clocks moved forward) has no offset; one in a fold (clocks moved back)
    /// has two, the earlier instant first, as chrono expects.
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<ZoneOffset> {
        let Some(civil) = civil(local) else {
            return MappedLocalTime::None;
        };
        match self.rules.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => MappedLocalTime::Single(self.fixed(offset)),
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            AmbiguousOffset::Fold { before, after } => {
                MappedLocalTime::Ambiguous(self.fixed(before), self.fixed(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_at(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset_at(utc)
    }
}

/// chrono's local date and time as jiff's; `None` beyond jiff's years ±9999. A leap second (chrono's
/// nanoseconds past 10^9) is read as the last nanosecond of its minute.
fn civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    use chrono::{Datelike, Timelike};
    let time = local.time();
    jiff::civil::DateTime::new(
        i16::try_from(local.year()).ok()?,
        i8::try_from(local.month()).ok()?,
        i8::try_from(local.day()).ok()?,
        i8::try_from(time.hour()).ok()?,
        i8::try_from(time.minute()).ok()?,
        i8::try_from(time.second()).ok()?,
        i32::try_from(time.nanosecond().min(999_999_999)).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    fn hours(offset: &ZoneOffset) -> f64 {
        f64::from(offset.fix().local_minus_utc()) / 3600.0
    }

    #[test]
    fn names_are_the_databases_and_unknown_ones_are_refused() {
        assert_eq!(
            Zone::named("Europe/Moscow").unwrap().name(),
            "Europe/Moscow"
        );
        assert_eq!(
            Zone::named("europe/moscow").unwrap().name(),
            "Europe/Moscow"
        );
        assert_eq!(Zone::named("UTC").unwrap().name(), "UTC");
        let refused = Zone::named("Moscow").unwrap_err();
        assert_eq!(refused, "not an IANA time zone: \"Moscow\"");
        assert!(Zone::named("").is_err());
    }

    #[test]
    fn offsets_follow_the_zones_history() {
        let moscow = Zone::named("Europe/Moscow").unwrap();
        // MSK+1 in summer until 2011, +4 all year 2011-2014, +3 since 26 October 2014.
        let at = |y, mo, d| hours(&moscow.offset_from_utc_datetime(&local(y, mo, d, 12, 0)));
        assert_eq!(at(2010, 1, 15), 3.0);
        assert_eq!(at(2010, 7, 15), 4.0);
        assert_eq!(at(2013, 1, 15), 4.0);
        assert_eq!(at(2026, 7, 15), 3.0);
        let yekaterinburg = Zone::named("Asia/Yekaterinburg").unwrap();
        assert_eq!(
            hours(&yekaterinburg.offset_from_utc_date(&local(2026, 1, 1, 0, 0).date())),
            5.0
        );
        // Beyond jiff's years: the nearest end's offset, no panic.
        let far = NaiveDate::from_ymd_opt(200_000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(hours(&moscow.offset_from_utc_datetime(&far)), 3.0);
        assert_eq!(
            moscow.offset_from_local_datetime(&far),
            MappedLocalTime::None
        );
    }

    #[test]
    fn local_times_in_a_gap_have_none_and_in_a_fold_two_earlier_first() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 29 March 2026: 02:00 CET becomes 03:00 CEST; 25 October 2026: 03:00 CEST becomes 02:00 CET.
        assert_eq!(
            berlin.offset_from_local_datetime(&local(2026, 3, 29, 2, 30)),
            MappedLocalTime::None
        );
        match berlin.offset_from_local_datetime(&local(2026, 10, 25, 2, 30)) {
            MappedLocalTime::Ambiguous(earlier, later) => {
                assert_eq!((hours(&earlier), hours(&later)), (2.0, 1.0));
            }
            other => panic!("expected two offsets, found {other:?}"),
        }
        let summer = berlin
            .offset_from_local_datetime(&local(2026, 7, 1, 12, 0))
            .single()
            .unwrap();
        assert_eq!(hours(&summer), 2.0);
    }

    #[test]
    fn a_daily_schedule_keeps_its_local_hour_across_a_change_of_offset() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let schedule = crate::Schedule::parse("0 3 * * *").unwrap();
        let mut after = Utc.with_ymd_and_hms(2026, 3, 27, 12, 0, 0).unwrap();
        let mut fires = Vec::new();
        for _ in 0..3 {
            let next = schedule.next_after(&after.with_timezone(&berlin)).unwrap();
            assert_eq!(next.format("%H:%M").to_string(), "03:00");
            after = next.with_timezone(&Utc);
            fires.push(after.format("%d %H:%M").to_string());
        }
        assert_eq!(fires, ["28 02:00", "29 01:00", "30 01:00"]);
        let shown = after
            .with_timezone(&berlin)
            .format("%Y-%m-%d %H:%M %:z")
            .to_string();
        assert_eq!(shown, "2026-03-30 03:00 +02:00");
    }
}
