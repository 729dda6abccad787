//! Federal districts whose membership changed while their printed name did not.
//!
//! «Южный федеральный округ» meant 13 subjects until 2010 (EMISS code 032), six after the North
//! Caucasian district split off (037), eight once Crimea and Sevastopol joined in July 2016 (040);
//! «Сибирский» and «Дальневосточный» traded Buryatia and Zabaykalsky krai in November 2018
//! (035/041, 036/042). Each edition prints the bare name with its own day's composition, and
//! recomputes past years to it. Which composition a table means is therefore read from the subjects it
//! lists under the district, not from the label and not from the years.

const NORTH_CAUCASIAN_SUBJECTS: &[&str] = &[
    "82000000000", // Дагестан
    "26000000000", // Ингушетия
    "83000000000", // Кабардино-Балкария
    "91000000000", // Карачаево-Черкесия
    "90000000000", // Северная Осетия
    "96000000000", // Чечня
    "07000000000", // Ставропольский край
];
const CRIMEAN_SUBJECTS: &[&str] = &["35000000000", "67000000000"];
/// Buryatia, Zabaykalsky krai (Chita oblast before 2008) and its former Aginsky Buryat okrug.
const MOVED_IN_2018: &[&str] = &["81000000000", "76000000000", "76100000000"];

/// A district with several versions: its lineage (named by its oldest version), and the districts
/// its subjects belong to today. `None` for every other code.
fn lineage(code: &str) -> Option<(&'static str, &'static [&'static str])> {
    match code {
        "032" | "037" | "040" => Some(("032", &["040", "038"])),
        "035" | "041" => Some(("035", &["041", "042"])),
        "036" | "042" => Some(("036", &["042"])),
        _ => None,
    }
}

/// Whether `code` is a district whose composition changed under one name, so that
/// [`district_version`] may choose another of its codes.
pub fn has_versions(code: &str) -> bool {
    lineage(code).is_some()
}

/// The code of the district version whose composition `members` (the subjects printed under the
/// district row, as (code, current parent district) pairs) shows, for a district with several
/// versions. `None` when `code` has one version, when no subjects are listed, or when a listed subject
/// never belonged to any version (the rows are then not the district's own, and the label's own
/// resolution stands).
pub fn district_version(code: &str, members: &[(&str, Option<&str>)]) -> Option<&'static str> {
    let (lineage, parents_now) = lineage(code)?;
    let belongs =
        |(_, parent): &(&str, Option<&str>)| parent.is_none_or(|p| parents_now.contains(&p));
    if members.is_empty() || !members.iter().all(belongs) {
        return None;
    }
    let lists_any = |set: &[&str]| members.iter().any(|(m, _)| set.contains(m));
    let version = match lineage {
        "032" if lists_any(NORTH_CAUCASIAN_SUBJECTS) => "032",
        "032" if lists_any(CRIMEAN_SUBJECTS) => "040",
        "032" => "037",
        "035" if lists_any(MOVED_IN_2018) => "035",
        "035" => "041",
        _ if lists_any(MOVED_IN_2018) => "042",
        _ => "036",
    };
    Some(version)
}

#[cfg(test)]
mod tests {
    use super::district_version;

    #[test]
    fn composition_decides_the_version() {
        let adygea = ("79000000000", Some("040"));
        let dagestan = ("82000000000", Some("038"));
        let sevastopol = ("67000000000", Some("040"));
        let buryatia = ("81000000000", Some("042"));
        let novosibirsk = ("50000000000", Some("041"));
        let sakha = ("98000000000", Some("042"));
        let aginsky = ("76100000000", None);
        assert_eq!(district_version("040", &[adygea, dagestan]), Some("032"));
        assert_eq!(district_version("040", &[adygea]), Some("037"));
        assert_eq!(district_version("037", &[adygea, sevastopol]), Some("040"));
        assert_eq!(
            district_version("041", &[novosibirsk, buryatia]),
            Some("035")
        );
        assert_eq!(district_version("041", &[novosibirsk]), Some("041"));
        assert_eq!(
            district_version("041", &[novosibirsk, aginsky]),
            Some("035")
        );
        assert_eq!(district_version("042", &[sakha]), Some("036"));
        assert_eq!(district_version("036", &[sakha, buryatia]), Some("042"));
        assert_eq!(district_version("040", &[]), None);
        assert_eq!(district_version("030", &[adygea]), None);
        // Rows that are not the district's own (every subject listed after the districts) decide nothing.
        assert_eq!(district_version("042", &[sakha, novosibirsk]), None);
    }
}
