use std::fmt;

use serde::{Deserialize, Serialize};

/// The granularity of a [`Period`], stored beside it so that `2020` (a year) and `2020-01` (a month)
/// are never compared as strings of the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodType {
    Year,
    Quarter,
    Month,
    Date,
}

impl PeriodType {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodType::Year => "year",
            PeriodType::Quarter => "quarter",
            PeriodType::Month => "month",
            PeriodType::Date => "date",
        }
    }
}

/// A reporting period: a year, a quarter, a month, or a point in time (e.g. «на 1 января»).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Year(i32),
    Quarter(i32, u8),
    Month(i32, u8),
    Date(chrono::NaiveDate),
}

impl Period {
    pub fn period_type(&self) -> PeriodType {
        match self {
            Period::Year(_) => PeriodType::Year,
            Period::Quarter(..) => PeriodType::Quarter,
            Period::Month(..) => PeriodType::Month,
            Period::Date(_) => PeriodType::Date,
        }
    }

    /// The calendar year the period falls in.
    pub fn year(&self) -> i32 {
        use chrono::Datelike;
        match *self {
            Period::Year(y) | Period::Quarter(y, _) | Period::Month(y, _) => y,
            Period::Date(d) => d.year(),
        }
    }

    /// Parses the canonical text form written by [`fmt::Display`]: `2005`, `2020-Q1`, `2020-03`,
    /// `2020-01-01`.
    pub fn parse(text: &str) -> Option<Period> {
        let t = text.trim();
        if let Some((y, q)) = t.split_once("-Q") {
            let q: u8 = q.parse().ok()?;
            return (1..=4)
                .contains(&q)
                .then_some(Period::Quarter(y.parse().ok()?, q));
        }
        match t.split('-').count() {
            1 => t.parse().ok().map(Period::Year),
            2 => {
                let (y, m) = t.split_once('-')?;
                let m: u8 = m.parse().ok()?;
                (1..=12)
                    .contains(&m)
                    .then_some(Period::Month(y.parse().ok()?, m))
            }
            3 => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .map(Period::Date),
            _ => None,
        }
    }

    /// Reads a period header as Rosstat writes it: `2005`, `2005.0`, `1998г.`, `2020 г.`.
    /// Only years from 1900 to 2100 count, so that stray numbers in a header row are not taken for years.
    pub fn from_header_text(text: &str) -> Option<Period> {
        let t = text.trim().trim_end_matches('.').trim_end();
        let t = t
            .strip_suffix("гг")
            .or_else(|| t.strip_suffix("г"))
            .unwrap_or(t)
            .trim_end();
        let t = strip_footnote_mark(t).0;
        let year: i32 = t.trim().parse().ok()?;
        (1900..=2100).contains(&year).then_some(Period::Year(year))
    }

    pub fn from_header_number(n: f64) -> Option<Period> {
        (n.fract() == 0.0 && (1900.0..=2100.0).contains(&n)).then_some(Period::Year(n as i32))
    }
}

/// Splits trailing footnote marks such as `1)` or `2), 3)` off a text and returns their numbers:
/// `("111,5", [1])` from `"111,51)"`. A mark is one digit, as in Rosstat's tables, which is what makes
/// `111,51)` readable at all. A `)` that closes an opening parenthesis of the text is not a mark.
pub(crate) fn strip_footnote_mark(text: &str) -> (&str, Vec<u32>) {
    let mut rest = text.trim_end();
    let mut marks = Vec::new();
    while let Some(before) = rest.strip_suffix(')') {
        let Some(digit) = before.chars().last().and_then(|c| c.to_digit(10)) else {
            break;
        };
        let head = &before[..before.len() - 1];
        let open = head.rfind('(');
        if open.is_some_and(|i| !head[i..].contains(')')) {
            break;
        }
        marks.push(digit);
        rest = head.trim_end().trim_end_matches(',').trim_end();
    }
    marks.reverse();
    (rest, marks)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Quarter(y, q) => write!(f, "{y}-Q{q}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
        }
    }
}

/// A part of a year as a header row prints it under (or without) a year: `I квартал`, `1 квартал`,
/// `январь`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubPeriod {
    Quarter(u8),
    Month(u8),
}

impl SubPeriod {
    pub fn from_header_text(text: &str) -> Option<SubPeriod> {
        let t = strip_footnote_mark(text.trim()).0.trim().to_lowercase();
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(q) = t.strip_suffix(" квартал") {
            let n = match q {
                "i" | "1" => 1,
                "ii" | "2" => 2,
                "iii" | "3" => 3,
                "iv" | "4" => 4,
                _ => return None,
            };
            return Some(SubPeriod::Quarter(n));
        }
        const MONTHS: [&str; 12] = [
            "январь",
            "февраль",
            "март",
            "апрель",
            "май",
            "июнь",
            "июль",
            "август",
            "сентябрь",
            "октябрь",
            "ноябрь",
            "декабрь",
        ];
        MONTHS
            .iter()
            .position(|m| *m == t)
            .map(|i| SubPeriod::Month(i as u8 + 1))
    }

    pub fn in_year(self, year: i32) -> Period {
        match self {
            SubPeriod::Quarter(q) => Period::Quarter(year, q),
            SubPeriod::Month(m) => Period::Month(year, m),
        }
    }
}

/// Periods travel as their canonical text (`2020-Q1`), the form the warehouse and published files use.
impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Period::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a period: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_years_in_rosstat_spellings() {
        assert_eq!(Period::from_header_text("1998г."), Some(Period::Year(1998)));
        assert_eq!(
            Period::from_header_text("2020 г."),
            Some(Period::Year(2020))
        );
        assert_eq!(Period::from_header_text(" 2005 "), Some(Period::Year(2005)));
        assert_eq!(Period::from_header_text("20151)"), Some(Period::Year(2015)));
        assert_eq!(Period::from_header_text("Всего"), None);
        assert_eq!(Period::from_header_number(2005.0), Some(Period::Year(2005)));
        assert_eq!(Period::from_header_number(110.5), None);
        assert_eq!(Period::from_header_number(5.0), None);
    }

    #[test]
    fn sub_periods() {
        assert_eq!(
            SubPeriod::from_header_text("I квартал"),
            Some(SubPeriod::Quarter(1))
        );
        assert_eq!(
            SubPeriod::from_header_text("IV  квартал1)"),
            Some(SubPeriod::Quarter(4))
        );
        assert_eq!(
            SubPeriod::from_header_text("3 квартал"),
            Some(SubPeriod::Quarter(3))
        );
        assert_eq!(
            SubPeriod::from_header_text("Март"),
            Some(SubPeriod::Month(3))
        );
        assert_eq!(SubPeriod::from_header_text("январь-март"), None);
        assert_eq!(SubPeriod::Quarter(2).in_year(2020).to_string(), "2020-Q2");
    }

    #[test]
    fn canonical_text_round_trips() {
        for p in [
            Period::Year(2005),
            Period::Quarter(2020, 1),
            Period::Month(2020, 3),
            Period::Date(chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap()),
        ] {
            assert_eq!(Period::parse(&p.to_string()), Some(p));
        }
        assert_eq!(Period::Month(2020, 3).to_string(), "2020-03");
        assert_eq!(Period::parse("2020-Q5"), None);
    }

    #[test]
    fn footnote_marks() {
        assert_eq!(
            strip_footnote_mark("Российская Федерация1)"),
            ("Российская Федерация", vec![1])
        );
        assert_eq!(strip_footnote_mark("111,51)"), ("111,5", vec![1]));
        assert_eq!(strip_footnote_mark("…4)"), ("…", vec![4]));
        assert_eq!(
            strip_footnote_mark("г. Севастополь2), 3)"),
            ("г. Севастополь", vec![2, 3])
        );
        assert_eq!(
            strip_footnote_mark("Тюменская область (2005)"),
            ("Тюменская область (2005)", vec![])
        );
        assert_eq!(strip_footnote_mark("plain"), ("plain", vec![]));
    }
}
