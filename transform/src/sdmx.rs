//! EMISS (fedstat.ru) SDMX-ML 1.0 GenericData, read as a stream: memory stays bounded however large
//! the file, because each observation is handed to the caller as soon as its `Obs` closes.
//!
//! The header's code lists give every code its description; the `Description` block names the
//! indicator and its unit; each `Series` carries its key (`s_OKATO` and other concepts), attributes
//! (`EI` unit, `PERIOD` sub-period) and observations (`Time`, `ObsValue` with a decimal comma).

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};

use crate::error::{Location, ParseProblem, TransformError};
use crate::observation::{Observation, Provenance, Status};
use crate::period::{Period, SubPeriod};
use crate::region::{RegionDictionary, Resolution};

/// What the stream held besides its observations.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SdmxSummary {
    pub dataset_id: Option<String>,
    pub indicator_id: Option<String>,
    pub indicator_name: Option<String>,
    pub unit: Option<String>,
    pub series: usize,
    pub observations: usize,
    pub missing: usize,
    pub problems: Vec<ParseProblem>,
}

#[derive(Default)]
struct Series {
    key: Vec<(String, String)>,
    attributes: Vec<(String, String)>,
}

#[derive(PartialEq)]
enum Place {
    Elsewhere,
    CodeListName,
    CodeDescription,
    Time,
    DataSetId,
}

/// Reads an SDMX stream, calling `sink` with each observation. The region concept is `s_OKATO` when
/// present, else the concept whose code list describes regions (the short-code lists such as
/// `00_003`); region codes resolve through the same dictionary as the workbooks, by code or by the
/// code list's description.
pub fn read_sdmx<R: BufRead>(
    file: &str,
    input: R,
    regions: &RegionDictionary,
    mut sink: impl FnMut(Observation) -> Result<(), TransformError>,
) -> Result<SdmxSummary, TransformError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut summary = SdmxSummary::default();
    let mut codelists: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current_list: Option<String> = None;
    let mut current_code: Option<String> = None;
    let mut place = Place::Elsewhere;
    let mut series = Series::default();
    let mut in_key = false;
    let mut in_attributes = false;
    let mut time: Option<String> = None;
    let mut value: Option<String> = None;
    let mut obs_in_series = 0usize;
    let mut region_concept: Option<String> = None;
    let err = |reader: &quick_xml::Reader<R>, e: String| TransformError::Workbook {
        file: file.to_string(),
        reason: format!("SDMX at byte {}: {e}", reader.buffer_position()),
    };

    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| err(&reader, e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name();
                match name.as_ref() {
                    "CodeList" => current_list = attr(e, "id"),
                    "Code" => current_code = attr(e, "value"),
                    "Description" if current_code.is_some() => place = Place::CodeDescription,
                    "Indicator" => {
                        summary.indicator_id = attr(e, "id");
                        summary.indicator_name = attr(e, "name");
                    }
                    "Unit" if summary.unit.is_none() => summary.unit = attr(e, "value"),
                    "DataSetID" => place = Place::DataSetId,
                    "Series" => {
                        series = Series::default();
                        summary.series += 1;
                        obs_in_series = 0;
                    }
                    "SeriesKey" => in_key = !empty,
                    "Attributes" => in_attributes = !empty,
                    "Value" => {
                        if let (Some(concept), Some(v)) = (attr(e, "concept"), attr(e, "value")) {
                            if in_key {
                                series.key.push((concept, v));
                            } else if in_attributes {
                                series.attributes.push((concept, v));
                            }
                        }
                    }
                    "Obs" => {
                        time = None;
                        value = None;
                        obs_in_series += 1;
                    }
                    "Time" => place = Place::Time,
                    "ObsValue" => value = attr(e, "value"),
                    "Name" if current_list.is_some() && current_code.is_none() => {
                        place = Place::CodeListName
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().trim().to_string();
                match place {
                    Place::CodeDescription => {
                        if let (Some(list), Some(code)) = (&current_list, &current_code) {
                            codelists
                                .entry(list.clone())
                                .or_default()
                                .insert(code.clone(), text);
                        }
                    }
                    Place::Time => time = Some(text),
                    Place::DataSetId => summary.dataset_id = Some(text),
                    Place::CodeListName | Place::Elsewhere => {}
                }
            }
            Event::End(e) => {
                match e.local_name().as_ref() {
                    "CodeList" => current_list = None,
                    "Code" => current_code = None,
                    "SeriesKey" => in_key = false,
                    "Attributes" => in_attributes = false,
                    "Obs" => {
                        if region_concept.is_none() {
                            region_concept = find_region_concept(&series.key, &codelists, regions);
                        }
                        let cell = format!("Series {} Obs {}", summary.series, obs_in_series);
                        let location = || Location {
                            file: file.to_string(),
                            sheet: Some("DataSet".into()),
                            cell: Some(cell.clone()),
                        };
                        match observation(
                            &series,
                            time.as_deref(),
                            value.as_deref(),
                            region_concept.as_deref(),
                            &codelists,
                            regions,
                            &summary,
                        ) {
                            Ok(mut o) => {
                                o.provenance.cell = cell.as_str().into();
                                summary.observations += 1;
                                if o.value.is_none() {
                                    summary.missing += 1;
                                }
                                sink(o)?;
                            }
                            Err((expected, found)) => summary.problems.push(ParseProblem {
                                location: location(),
                                expected,
                                found,
                            }),
                        }
                    }
                    _ => {}
                }
                place = Place::Elsewhere;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(summary)
}

/// An element's attribute by its local name (any namespace prefix), its value unescaped: the one
/// reading of attributes for every XML this crate reads (SDMX, Word, the .xlsx package).
pub(crate) fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// The concept of the series key that holds regions.
fn find_region_concept(
    key: &[(String, String)],
    codelists: &HashMap<String, HashMap<String, String>>,
    regions: &RegionDictionary,
) -> Option<String> {
    if key.iter().any(|(c, _)| c == "s_OKATO") {
        return Some("s_OKATO".into());
    }
    key.iter()
        .map(|(c, _)| c)
        .find(|c| {
            codelists.get(*c).is_some_and(|list| {
                let resolved = list
                    .values()
                    .filter(|d| matches!(regions.resolve(d), Some(Resolution::Region(_))))
                    .count();
                resolved * 2 >= list.len()
            })
        })
        .cloned()
}

type Problem = (String, String);

fn observation(
    series: &Series,
    time: Option<&str>,
    value: Option<&str>,
    region_concept: Option<&str>,
    codelists: &HashMap<String, HashMap<String, String>>,
    regions: &RegionDictionary,
    summary: &SdmxSummary,
) -> Result<Observation, Problem> {
    let concept = region_concept.ok_or_else(|| {
        (
            "a region concept (s_OKATO or a code list of regions) in the series key".to_string(),
            String::new(),
        )
    })?;
    let code = series
        .key
        .iter()
        .find(|(c, _)| c == concept)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let description = codelists.get(concept).and_then(|l| l.get(code));
    let region = regions
        .get(code)
        .or_else(|| match description.and_then(|d| regions.resolve(d)) {
            Some(Resolution::Region(e)) => Some(e),
            _ => None,
        })
        .ok_or_else(|| {
            (
                format!("a region code known to the dictionary in {concept}"),
                format!(
                    "{code} ({})",
                    description.map_or("no description", |d| d.as_str())
                ),
            )
        })?;
    let attribute = |name: &str| {
        series
            .attributes
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, v)| v.as_str())
    };
    let time = time.ok_or_else(|| ("a Time element".to_string(), String::new()))?;
    let period = sdmx_period(time, attribute("PERIOD")).ok_or_else(|| {
        (
            "a period: a year in Time and a known PERIOD (за год, на 1 января, I квартал, январь)"
                .to_string(),
            format!("{time} / {}", attribute("PERIOD").unwrap_or("")),
        )
    })?;
    let (value, status) = match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => (None, Status::NotAvailable),
        Some(v) => match v
            .replace([' ', '\u{a0}'], "")
            .replace(',', ".")
            .parse::<f64>()
        {
            Ok(x) if x.is_finite() => (Some(x), Status::Ok),
            _ => return Err(("a number in ObsValue".to_string(), v.to_string())),
        },
    };
    let dimensions = series
        .key
        .iter()
        .filter(|(c, _)| c != concept)
        .map(|(c, v)| {
            (
                c.clone(),
                codelists
                    .get(c)
                    .and_then(|l| l.get(v))
                    .cloned()
                    .unwrap_or_else(|| v.clone()),
            )
        })
        .collect();
    let indicator_id = summary
        .indicator_id
        .clone()
        .unwrap_or_else(|| summary.dataset_id.clone().unwrap_or_default());
    Ok(Observation {
        indicator: format!("emiss:{indicator_id}").into(),
        region_code: region.code.as_str().into(),
        region_label: description
            .cloned()
            .unwrap_or_else(|| region.name.clone())
            .into(),
        period,
        value,
        unit: attribute("EI")
            .map(str::to_string)
            .or_else(|| summary.unit.clone())
            .unwrap_or_default()
            .into(),
        basis: None,
        status,
        footnotes: Vec::new(),
        dimensions,
        provenance: Provenance {
            document_sha256: "".into(),
            sheet: "DataSet".into(),
            cell: Default::default(),
            table_code: indicator_id.into(),
            table_title: summary.indicator_name.clone().unwrap_or_default().into(),
        },
    })
}

/// `Time` (a year) with the `PERIOD` attribute: «значение показателя за год» is the year, «на 1
/// января» a date, «I квартал» a quarter, «январь» a month, «январь-март» cumulated months.
pub fn sdmx_period(time: &str, period: Option<&str>) -> Option<Period> {
    let year: i32 = time.trim().get(..4)?.parse().ok()?;
    let Some(p) = period
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
    else {
        return Some(Period::Year(year));
    };
    if p.contains("за год") || p == "год" {
        return Some(Period::Year(year));
    }
    // Dates («на 1 июля»), quarters, months and cumulated months: as the workbooks' headers.
    SubPeriod::from_header_text(&p).map(|s| s.in_year(year))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_from_time_and_attribute() {
        let date = |y, m, d| {
            Some(Period::Date(
                chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            ))
        };
        assert_eq!(
            sdmx_period("2020", Some("значение показателя за год")),
            Some(Period::Year(2020))
        );
        assert_eq!(sdmx_period("2020", None), Some(Period::Year(2020)));
        assert_eq!(sdmx_period("1990", Some("на 1 января")), date(1990, 1, 1));
        assert_eq!(sdmx_period("2021", Some("на 1 июля")), date(2021, 7, 1));
        assert_eq!(
            sdmx_period("2021", Some("IV квартал")),
            Some(Period::Quarter(2021, 4))
        );
        assert_eq!(
            sdmx_period("2021", Some("март")),
            Some(Period::Month(2021, 3))
        );
        // Cumulated months, as EMISS's PERIOD attribute writes them: their own period type.
        assert_eq!(
            sdmx_period("2021", Some("январь-март")),
            Some(Period::Months(2021, 1, 3))
        );
        assert_eq!(sdmx_period("абв", None), None);
    }
}
