//! A table's unit line, «(в фактически действовавших ценах; миллионов рублей)», is a unit and the
//! qualifiers before it: the price basis, the classification, the reference point, the data source.
//! The unit stays a unit (so figures in one unit compare, whatever their basis); the qualifiers are
//! kept beside it as the figure's basis.

/// Phrases that qualify a figure rather than measure it, compared in lower case. `ценах` catches
/// every price basis (в текущих / сопоставимых / постоянных / фактически действовавших / текущих
/// рыночных ценах, в ценах 2016 г.).
const QUALIFIERS: &[&str] = &[
    "ценах",
    "в соответствии с",
    "по данным",
    "на конец",
    "на начало",
    "по состоянию на",
    "по методологии",
    "по полному кругу",
    "без учета",
    "без учёта",
    "с учетом",
    "с учётом",
];

/// Whether a segment of a unit line is a qualifier.
pub fn is_qualifier(segment: &str) -> bool {
    let lower = segment.to_lowercase();
    QUALIFIERS.iter().any(|q| {
        if *q == "ценах" {
            lower.contains(q)
        } else {
            lower.starts_with(q)
        }
    })
}

/// Splits a unit line (without its parentheses) at `;` into the unit and the basis: the qualifier
/// segments, in order, joined by `; `. A line of qualifiers only has an empty unit.
pub fn split_unit_line(line: &str) -> (String, Option<String>) {
    let (basis, unit): (Vec<&str>, Vec<&str>) = line
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .partition(|s| is_qualifier(s));
    let basis = (!basis.is_empty()).then(|| basis.join("; "));
    (unit.join("; "), basis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_is_a_unit_and_the_qualifiers_its_basis() {
        let cases = [
            (
                "в фактически действовавших ценах; миллионов рублей",
                "миллионов рублей",
                Some("в фактически действовавших ценах"),
            ),
            (
                "в текущих рыночных ценах; рублей",
                "рублей",
                Some("в текущих рыночных ценах"),
            ),
            (
                "в соответствии с ОКОНХ; в фактически действовавших ценах; миллионов рублей",
                "миллионов рублей",
                Some("в соответствии с ОКОНХ; в фактически действовавших ценах"),
            ),
            (
                "по данным выборочных обследований рабочей силы; в процентах",
                "в процентах",
                Some("по данным выборочных обследований рабочей силы"),
            ),
            (
                "на конец года; в процентах",
                "в процентах",
                Some("на конец года"),
            ),
            (
                "в сопоставимых ценах; в процентах к предыдущему году",
                "в процентах к предыдущему году",
                Some("в сопоставимых ценах"),
            ),
            (
                "в ценах 2016 г.; миллиардов рублей",
                "миллиардов рублей",
                Some("в ценах 2016 г."),
            ),
            (
                "в процентах к предыдущему году",
                "в процентах к предыдущему году",
                None,
            ),
            ("миллионов рублей", "миллионов рублей", None),
            (
                "в фактически действовавших ценах",
                "",
                Some("в фактически действовавших ценах"),
            ),
            ("", "", None),
        ];
        for (line, unit, basis) in cases {
            assert_eq!(
                split_unit_line(line),
                (unit.to_string(), basis.map(str::to_string)),
                "{line}"
            );
        }
    }
}
