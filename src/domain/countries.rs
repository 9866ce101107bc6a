//! Country and subdivision reference data: ISO 3166-1 alpha-2 countries, ISO 3166-2
//! subdivisions for the countries whose addresses name one, and postal-code rules.
//!
//! Everything is static data and pure lookups. Codes are matched case-insensitively;
//! names are matched after [`fold`]ing (case, common Latin diacritics, hyphens and
//! punctuation do not matter), so `Baden-Württemberg`, `baden wurttemberg` and
//! `BADEN-WURTTEMBERG` are the same name.
//!
//! Country names are the short English names people use (`United States`, `Bolivia`,
//! `South Korea`), not the formal ISO ones; the formal and other common names
//! (`Korea, Republic of`, `USA`, `UK`, `Holland`, …) are accepted by
//! [`country_by_name`] as aliases.

/// Every ISO 3166-1 alpha-2 code with its short English name, sorted by code.
static COUNTRIES: &[(&str, &str)] = &[
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Congo (Democratic Republic)"),
    ("CF", "Central African Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Laos"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russia"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syria"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "United States Minor Outlying Islands"),
    ("US", "United States"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela"),
    ("VG", "British Virgin Islands"),
    ("VI", "U.S. Virgin Islands"),
    ("VN", "Vietnam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

/// Other names a shopper or a client may send for a country (formal ISO names,
/// former names, common abbreviations). Matched after folding, like the main names.
static COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("United States of America", "US"),
    ("USA", "US"),
    ("U.S.", "US"),
    ("America", "US"),
    ("UK", "GB"),
    ("Great Britain", "GB"),
    ("Britain", "GB"),
    ("England", "GB"),
    ("Scotland", "GB"),
    ("Wales", "GB"),
    ("Northern Ireland", "GB"),
    ("United Kingdom of Great Britain and Northern Ireland", "GB"),
    ("Bolivia (Plurinational State of)", "BO"),
    ("Plurinational State of Bolivia", "BO"),
    ("Brunei Darussalam", "BN"),
    ("Bonaire", "BQ"),
    ("Cape Verde", "CV"),
    ("Democratic Republic of the Congo", "CD"),
    ("DR Congo", "CD"),
    ("DRC", "CD"),
    ("Congo, Democratic Republic of the", "CD"),
    ("Congo (the Democratic Republic of the)", "CD"),
    ("Republic of the Congo", "CG"),
    ("Congo-Brazzaville", "CG"),
    ("Ivory Coast", "CI"),
    ("Czech Republic", "CZ"),
    ("Falkland Islands (Malvinas)", "FK"),
    ("Micronesia (Federated States of)", "FM"),
    ("Federated States of Micronesia", "FM"),
    ("Hong Kong SAR", "HK"),
    ("Iran, Islamic Republic of", "IR"),
    ("Korea, Democratic People's Republic of", "KP"),
    ("Democratic People's Republic of Korea", "KP"),
    ("Korea, Republic of", "KR"),
    ("Republic of Korea", "KR"),
    ("Korea", "KR"),
    ("Lao People's Democratic Republic", "LA"),
    ("Macau", "MO"),
    ("Macao SAR", "MO"),
    ("Macedonia", "MK"),
    ("Republic of North Macedonia", "MK"),
    ("Moldova, Republic of", "MD"),
    ("Republic of Moldova", "MD"),
    ("Burma", "MM"),
    ("Holland", "NL"),
    ("The Netherlands", "NL"),
    ("Palestine, State of", "PS"),
    ("State of Palestine", "PS"),
    ("Russian Federation", "RU"),
    ("St. Barthélemy", "BL"),
    ("Saint Helena", "SH"),
    ("St. Kitts and Nevis", "KN"),
    ("St. Lucia", "LC"),
    ("Saint Martin", "MF"),
    ("St. Pierre and Miquelon", "PM"),
    ("St. Vincent and the Grenadines", "VC"),
    ("Sint Maarten", "SX"),
    ("Swaziland", "SZ"),
    ("Syrian Arab Republic", "SY"),
    ("East Timor", "TL"),
    ("Turkey", "TR"),
    ("Taiwan, Province of China", "TW"),
    ("Tanzania, United Republic of", "TZ"),
    ("United Republic of Tanzania", "TZ"),
    ("Vatican", "VA"),
    ("Vatican City", "VA"),
    ("Vatican City State", "VA"),
    ("Holy See (Vatican City State)", "VA"),
    ("Venezuela (Bolivarian Republic of)", "VE"),
    ("Bolivarian Republic of Venezuela", "VE"),
    ("Virgin Islands, British", "VG"),
    ("Virgin Islands, U.S.", "VI"),
    ("Viet Nam", "VN"),
    ("The Bahamas", "BS"),
    ("The Gambia", "GM"),
];

/// A country's subdivisions: the word for them (for messages), whether a shipping
/// address must name one, and `(code without the country prefix, English name)`.
struct Subdivisions {
    country: &'static str,
    kind: &'static str,
    required: bool,
    list: &'static [(&'static str, &'static str)],
}

static SUBDIVISIONS: &[Subdivisions] = &[
    Subdivisions {
        country: "AU",
        kind: "states and territories",
        required: true,
        list: AU,
    },
    Subdivisions {
        country: "BR",
        kind: "states",
        required: true,
        list: BR,
    },
    Subdivisions {
        country: "CA",
        kind: "provinces and territories",
        required: true,
        list: CA,
    },
    // German addresses do not name the Land; a given one is still checked.
    Subdivisions {
        country: "DE",
        kind: "states (Länder)",
        required: false,
        list: DE,
    },
    Subdivisions {
        country: "IN",
        kind: "states and union territories",
        required: true,
        list: IN,
    },
    Subdivisions {
        country: "JP",
        kind: "prefectures",
        required: true,
        list: JP,
    },
    Subdivisions {
        country: "MX",
        kind: "states",
        required: true,
        list: MX,
    },
    Subdivisions {
        country: "US",
        kind: "states",
        required: true,
        list: US,
    },
];

static US: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("AS", "American Samoa"),
    ("GU", "Guam"),
    ("MP", "Northern Mariana Islands"),
    ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"),
    ("UM", "United States Minor Outlying Islands"),
    ("AA", "Armed Forces Americas"),
    ("AE", "Armed Forces Europe"),
    ("AP", "Armed Forces Pacific"),
];

static CA: &[(&str, &str)] = &[
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

static AU: &[(&str, &str)] = &[
    ("ACT", "Australian Capital Territory"),
    ("NSW", "New South Wales"),
    ("NT", "Northern Territory"),
    ("QLD", "Queensland"),
    ("SA", "South Australia"),
    ("TAS", "Tasmania"),
    ("VIC", "Victoria"),
    ("WA", "Western Australia"),
];

/// ISO 3166-2:IN as revised in 2023 (CG, OD, TS, UK replaced CT, OR, TG, UT; the
/// old codes are still accepted, see [`LEGACY_CODES`]).
static IN: &[(&str, &str)] = &[
    ("AN", "Andaman and Nicobar Islands"),
    ("AP", "Andhra Pradesh"),
    ("AR", "Arunachal Pradesh"),
    ("AS", "Assam"),
    ("BR", "Bihar"),
    ("CH", "Chandigarh"),
    ("CG", "Chhattisgarh"),
    ("DH", "Dadra and Nagar Haveli and Daman and Diu"),
    ("DL", "Delhi"),
    ("GA", "Goa"),
    ("GJ", "Gujarat"),
    ("HR", "Haryana"),
    ("HP", "Himachal Pradesh"),
    ("JK", "Jammu and Kashmir"),
    ("JH", "Jharkhand"),
    ("KA", "Karnataka"),
    ("KL", "Kerala"),
    ("LA", "Ladakh"),
    ("LD", "Lakshadweep"),
    ("MP", "Madhya Pradesh"),
    ("MH", "Maharashtra"),
    ("MN", "Manipur"),
    ("ML", "Meghalaya"),
    ("MZ", "Mizoram"),
    ("NL", "Nagaland"),
    ("OD", "Odisha"),
    ("PY", "Puducherry"),
    ("PB", "Punjab"),
    ("RJ", "Rajasthan"),
    ("SK", "Sikkim"),
    ("TN", "Tamil Nadu"),
    ("TS", "Telangana"),
    ("TR", "Tripura"),
    ("UP", "Uttar Pradesh"),
    ("UK", "Uttarakhand"),
    ("WB", "West Bengal"),
];

static MX: &[(&str, &str)] = &[
    ("AGU", "Aguascalientes"),
    ("BCN", "Baja California"),
    ("BCS", "Baja California Sur"),
    ("CAM", "Campeche"),
    ("CHP", "Chiapas"),
    ("CHH", "Chihuahua"),
    ("CMX", "Ciudad de México"),
    ("COA", "Coahuila"),
    ("COL", "Colima"),
    ("DUR", "Durango"),
    ("GUA", "Guanajuato"),
    ("GRO", "Guerrero"),
    ("HID", "Hidalgo"),
    ("JAL", "Jalisco"),
    ("MEX", "México"),
    ("MIC", "Michoacán"),
    ("MOR", "Morelos"),
    ("NAY", "Nayarit"),
    ("NLE", "Nuevo León"),
    ("OAX", "Oaxaca"),
    ("PUE", "Puebla"),
    ("QUE", "Querétaro"),
    ("ROO", "Quintana Roo"),
    ("SLP", "San Luis Potosí"),
    ("SIN", "Sinaloa"),
    ("SON", "Sonora"),
    ("TAB", "Tabasco"),
    ("TAM", "Tamaulipas"),
    ("TLA", "Tlaxcala"),
    ("VER", "Veracruz"),
    ("YUC", "Yucatán"),
    ("ZAC", "Zacatecas"),
];

static BR: &[(&str, &str)] = &[
    ("AC", "Acre"),
    ("AL", "Alagoas"),
    ("AP", "Amapá"),
    ("AM", "Amazonas"),
    ("BA", "Bahia"),
    ("CE", "Ceará"),
    ("DF", "Distrito Federal"),
    ("ES", "Espírito Santo"),
    ("GO", "Goiás"),
    ("MA", "Maranhão"),
    ("MT", "Mato Grosso"),
    ("MS", "Mato Grosso do Sul"),
    ("MG", "Minas Gerais"),
    ("PA", "Pará"),
    ("PB", "Paraíba"),
    ("PR", "Paraná"),
    ("PE", "Pernambuco"),
    ("PI", "Piauí"),
    ("RJ", "Rio de Janeiro"),
    ("RN", "Rio Grande do Norte"),
    ("RS", "Rio Grande do Sul"),
    ("RO", "Rondônia"),
    ("RR", "Roraima"),
    ("SC", "Santa Catarina"),
    ("SP", "São Paulo"),
    ("SE", "Sergipe"),
    ("TO", "Tocantins"),
];

static DE: &[(&str, &str)] = &[
    ("BW", "Baden-Württemberg"),
    ("BY", "Bavaria"),
    ("BE", "Berlin"),
    ("BB", "Brandenburg"),
    ("HB", "Bremen"),
    ("HH", "Hamburg"),
    ("HE", "Hesse"),
    ("MV", "Mecklenburg-Western Pomerania"),
    ("NI", "Lower Saxony"),
    ("NW", "North Rhine-Westphalia"),
    ("RP", "Rhineland-Palatinate"),
    ("SL", "Saarland"),
    ("SN", "Saxony"),
    ("ST", "Saxony-Anhalt"),
    ("SH", "Schleswig-Holstein"),
    ("TH", "Thuringia"),
];

/// ISO 3166-2:JP codes are the two-digit prefecture numbers.
static JP: &[(&str, &str)] = &[
    ("01", "Hokkaido"),
    ("02", "Aomori"),
    ("03", "Iwate"),
    ("04", "Miyagi"),
    ("05", "Akita"),
    ("06", "Yamagata"),
    ("07", "Fukushima"),
    ("08", "Ibaraki"),
    ("09", "Tochigi"),
    ("10", "Gunma"),
    ("11", "Saitama"),
    ("12", "Chiba"),
    ("13", "Tokyo"),
    ("14", "Kanagawa"),
    ("15", "Niigata"),
    ("16", "Toyama"),
    ("17", "Ishikawa"),
    ("18", "Fukui"),
    ("19", "Yamanashi"),
    ("20", "Nagano"),
    ("21", "Gifu"),
    ("22", "Shizuoka"),
    ("23", "Aichi"),
    ("24", "Mie"),
    ("25", "Shiga"),
    ("26", "Kyoto"),
    ("27", "Osaka"),
    ("28", "Hyogo"),
    ("29", "Nara"),
    ("30", "Wakayama"),
    ("31", "Tottori"),
    ("32", "Shimane"),
    ("33", "Okayama"),
    ("34", "Hiroshima"),
    ("35", "Yamaguchi"),
    ("36", "Tokushima"),
    ("37", "Kagawa"),
    ("38", "Ehime"),
    ("39", "Kochi"),
    ("40", "Fukuoka"),
    ("41", "Saga"),
    ("42", "Nagasaki"),
    ("43", "Kumamoto"),
    ("44", "Oita"),
    ("45", "Miyazaki"),
    ("46", "Kagoshima"),
    ("47", "Okinawa"),
];

/// Codes that ISO has retired but clients still send: `(country, old, current)`.
static LEGACY_CODES: &[(&str, &str, &str)] = &[
    ("IN", "CT", "CG"),
    ("IN", "OR", "OD"),
    ("IN", "TG", "TS"),
    ("IN", "UT", "UK"),
    ("MX", "DIF", "CMX"),
];

/// Local-language and other common names for subdivisions: `(country, alias, code)`.
static SUBDIVISION_ALIASES: &[(&str, &str, &str)] = &[
    ("US", "Washington DC", "DC"),
    ("US", "Washington, D.C.", "DC"),
    ("US", "Virgin Islands", "VI"),
    ("US", "Armed Forces Africa", "AE"),
    ("US", "Armed Forces Canada", "AE"),
    ("US", "Armed Forces Middle East", "AE"),
    ("CA", "Yukon Territory", "YT"),
    ("CA", "Newfoundland", "NL"),
    ("DE", "Bayern", "BY"),
    ("DE", "Hessen", "HE"),
    ("DE", "Mecklenburg-Vorpommern", "MV"),
    ("DE", "Niedersachsen", "NI"),
    ("DE", "Nordrhein-Westfalen", "NW"),
    ("DE", "Rheinland-Pfalz", "RP"),
    ("DE", "Sachsen", "SN"),
    ("DE", "Sachsen-Anhalt", "ST"),
    ("DE", "Thüringen", "TH"),
    ("IN", "Orissa", "OD"),
    ("IN", "Pondicherry", "PY"),
    ("IN", "Uttaranchal", "UK"),
    ("IN", "National Capital Territory of Delhi", "DL"),
    ("IN", "New Delhi", "DL"),
    ("MX", "Mexico City", "CMX"),
    ("MX", "CDMX", "CMX"),
    ("MX", "Distrito Federal", "CMX"),
    ("MX", "Estado de México", "MEX"),
    ("MX", "State of Mexico", "MEX"),
    ("MX", "Coahuila de Zaragoza", "COA"),
    ("MX", "Michoacán de Ocampo", "MIC"),
    ("MX", "Veracruz de Ignacio de la Llave", "VER"),
];

/// Countries whose addresses carry no postal code, or only an optional one
/// (Ireland's Eircode, Hong Kong, the Gulf states, much of Africa and the Caribbean).
static NO_POSTAL_CODE: &[&str] = &[
    "AE", "AG", "AO", "AQ", "AW", "BF", "BI", "BJ", "BO", "BQ", "BS", "BW", "BZ", "CD", "CF", "CG",
    "CI", "CK", "CM", "CW", "DJ", "DM", "ER", "FJ", "GA", "GD", "GH", "GM", "GQ", "GY", "HK", "HM",
    "IE", "JM", "KI", "KM", "KN", "KP", "LY", "ML", "MO", "MR", "MW", "NR", "NU", "PA", "QA", "RW",
    "SB", "SC", "SL", "SO", "SR", "SS", "ST", "SX", "SY", "TD", "TF", "TG", "TK", "TL", "TO", "TV",
    "UG", "VU", "YE", "ZW",
];

/// Postal-code shapes: `9` a digit, `A` a letter, anything else a separator. The first
/// shape is the one codes are written in; input may leave separators out or use a
/// space or hyphen in their place.
static POSTAL_SHAPES: &[(&str, &[&str])] = &[
    ("AT", &["9999"]),
    ("AU", &["9999"]),
    ("BE", &["9999"]),
    ("BR", &["99999-999"]),
    ("CH", &["9999"]),
    ("CN", &["999999"]),
    ("DE", &["99999"]),
    ("DK", &["9999"]),
    ("ES", &["99999"]),
    ("FI", &["99999"]),
    ("FR", &["99999"]),
    ("IT", &["99999"]),
    ("JP", &["999-9999"]),
    ("KR", &["99999"]),
    ("MX", &["99999"]),
    ("NO", &["9999"]),
    ("NZ", &["9999"]),
    ("PL", &["99-999"]),
    ("PT", &["9999-999"]),
    ("RU", &["999999"]),
    ("SE", &["999 99"]),
    ("SG", &["999999"]),
    ("US", &["99999", "99999-9999"]),
];

/// All ISO 3166-1 alpha-2 countries as `(code, name)`, sorted by code.
pub fn countries() -> &'static [(&'static str, &'static str)] {
    COUNTRIES
}

/// The name of the country with this ISO 3166-1 alpha-2 code (any case).
pub fn country_name(code: &str) -> Option<&'static str> {
    let code = code.trim();
    COUNTRIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|&(_, n)| n)
}

/// The canonical (upper-case) code for a code in any case, if it is a country.
pub fn country_code(code: &str) -> Option<&'static str> {
    let code = code.trim();
    COUNTRIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|&(c, _)| c)
}

/// The code of the country with this name, or a common alias of it (`USA`, `UK`,
/// `Russian Federation`, `Holland`). Case, diacritics and punctuation do not matter.
pub fn country_by_name(name: &str) -> Option<&'static str> {
    let wanted = fold(name);
    if wanted.is_empty() {
        return None;
    }
    COUNTRIES
        .iter()
        .map(|&(c, n)| (n, c))
        .chain(COUNTRY_ALIASES.iter().copied())
        .find(|(n, _)| fold(n) == wanted)
        .map(|(_, c)| c)
}

fn subdivisions_of(country: &str) -> Option<&'static Subdivisions> {
    let country = country.trim();
    SUBDIVISIONS
        .iter()
        .find(|s| s.country.eq_ignore_ascii_case(country))
}

/// Whether this crate knows the country's subdivisions (and so checks them).
pub fn has_subdivisions(country: &str) -> bool {
    subdivisions_of(country).is_some()
}

/// Whether a shipping address in this country must name its state or province.
/// True for the countries with known subdivisions whose addresses use them; Germany's
/// Länder are known but not asked for.
pub fn state_required(country: &str) -> bool {
    subdivisions_of(country).is_some_and(|s| s.required)
}

/// The country's subdivisions as `(code, name)`; empty when unknown.
pub fn subdivisions(country: &str) -> &'static [(&'static str, &'static str)] {
    subdivisions_of(country).map_or(&[], |s| s.list)
}

/// What the country's subdivisions are called, for messages (`states`, `provinces and
/// territories`, `prefectures`); `None` when unknown.
pub fn subdivision_kind(country: &str) -> Option<&'static str> {
    subdivisions_of(country).map(|s| s.kind)
}

/// Looks up a subdivision by code (`CA`, `ca`, `US-CA`, a retired code such as India's
/// `OR`, or for Japan `1` as well as `01`) or by name (`California`, an alias such as
/// `Bayern`). Returns the canonical `(code, name)`.
pub fn subdivision(country: &str, code_or_name: &str) -> Option<(&'static str, &'static str)> {
    let subs = subdivisions_of(country)?;
    let input = code_or_name.trim();
    if input.is_empty() {
        return None;
    }
    // `US-CA`: drop the country prefix.
    let code = match input.split_once('-') {
        Some((c, rest)) if c.eq_ignore_ascii_case(subs.country) && !rest.is_empty() => rest,
        _ => input,
    };
    let by_code = |code: &str| {
        subs.list
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(code))
            .copied()
    };
    if let Some(found) = by_code(code) {
        return Some(found);
    }
    if let Some(&(_, _, current)) = LEGACY_CODES
        .iter()
        .find(|(c, old, _)| *c == subs.country && old.eq_ignore_ascii_case(code))
    {
        return by_code(current);
    }
    if subs.country == "JP" && code.len() == 1 && code.bytes().all(|b| b.is_ascii_digit()) {
        return by_code(&format!("0{code}"));
    }
    let wanted = fold(input);
    if let Some(found) = subs.list.iter().find(|(_, n)| fold(n) == wanted) {
        return Some(*found);
    }
    SUBDIVISION_ALIASES
        .iter()
        .find(|(c, alias, _)| *c == subs.country && fold(alias) == wanted)
        .and_then(|&(_, _, code)| by_code(code))
}

/// Whether a shipping address in this country needs a postal code. False for
/// countries without postal codes (or with optional ones) and for unknown codes.
pub fn postal_code_required(country: &str) -> bool {
    match country_code(country) {
        Some(code) => !NO_POSTAL_CODE.contains(&code),
        None => false,
    }
}

/// Whether `postal` is a well-formed postal code for the country. Known formats are
/// checked exactly (US, CA, GB, NL, IN, DE, FR, AU, JP and more); anything else must
/// be 1–12 letters, digits, spaces or hyphens.
pub fn postal_code_valid(country: &str, postal: &str) -> bool {
    canonical_postal_code(country, postal).is_some()
}

/// The postal code in its usual written form (upper case, the country's separator:
/// `K1A 0B1`, `SW1A 1AA`, `1012 AB`, `100-0001`), or `None` when it is not valid
/// for the country. Canonical forms are fixed points: canonicalizing one again
/// gives it back.
pub fn canonical_postal_code(country: &str, postal: &str) -> Option<String> {
    let country = country.trim().to_ascii_uppercase();
    let postal = postal.trim();
    if postal.is_empty() || postal.chars().count() > 30 {
        return None;
    }
    match country.as_str() {
        "CA" => return canadian_postal_code(postal),
        "GB" => return british_postal_code(postal),
        "NL" => return dutch_postal_code(postal),
        "IN" => {
            let compact = compact(postal)?;
            let ok = compact.len() == 6
                && compact.bytes().all(|b| b.is_ascii_digit())
                && !compact.starts_with('0');
            return ok.then_some(compact);
        }
        _ => {}
    }
    if let Some((_, shapes)) = POSTAL_SHAPES.iter().find(|(c, _)| *c == country) {
        let compact = compact(postal)?;
        return shapes.iter().find_map(|shape| fit_shape(&compact, shape));
    }
    let generic = postal.chars().count() <= 12
        && postal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        && postal.chars().any(|c| c.is_ascii_alphanumeric());
    generic.then(|| postal.to_ascii_uppercase())
}

/// How postal codes in the country are written, for messages: `12345 or
/// 12345-6789`, `A1A 1A1`, or the generic rule for countries without a known format.
pub fn postal_code_format(country: &str) -> String {
    let country = country.trim().to_ascii_uppercase();
    match country.as_str() {
        "CA" => return "A1A 1A1".to_string(),
        "GB" => return "SW1A 1AA or M1 1AE".to_string(),
        "NL" => return "1234 AB".to_string(),
        "IN" => return "6 digits not starting with 0, such as 110001".to_string(),
        _ => {}
    }
    match POSTAL_SHAPES.iter().find(|(c, _)| *c == country) {
        Some((_, shapes)) => shapes
            .iter()
            .map(|shape| example_of(shape))
            .collect::<Vec<_>>()
            .join(" or "),
        None => "1 to 12 letters, digits, spaces or hyphens".to_string(),
    }
}

/// `99999-999` becomes `12345-678`.
fn example_of(shape: &str) -> String {
    let mut digits = (1..=9).chain(0..=9).cycle();
    let mut letters = ('A'..='Z').cycle();
    shape
        .chars()
        .map(|c| match c {
            '9' => digits
                .next()
                .and_then(|d| char::from_digit(d, 10))
                .unwrap_or('0'),
            'A' => letters.next().unwrap_or('A'),
            other => other,
        })
        .collect()
}

/// Upper case with spaces and hyphens removed; `None` if anything but ASCII letters,
/// digits, spaces and hyphens is present.
fn compact(postal: &str) -> Option<String> {
    let mut out = String::with_capacity(postal.len());
    for c in postal.chars() {
        match c {
            ' ' | '-' => {}
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
            _ => return None,
        }
    }
    Some(out)
}

/// Fits a compact code to a shape, writing the shape's separators back in.
fn fit_shape(compact: &str, shape: &str) -> Option<String> {
    let slots = shape.bytes().filter(|b| matches!(b, b'9' | b'A')).count();
    if compact.len() != slots {
        return None;
    }
    let mut chars = compact.bytes();
    let mut out = String::with_capacity(shape.len());
    for s in shape.bytes() {
        match s {
            b'9' | b'A' => {
                let c = chars.next()?;
                let ok = if s == b'9' {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_alphabetic()
                };
                if !ok {
                    return None;
                }
                out.push(char::from(c));
            }
            sep => out.push(char::from(sep)),
        }
    }
    Some(out)
}

/// `A1A 1A1`; the letters D, F, I, O, Q and U never appear, W and Z never first.
fn canadian_postal_code(postal: &str) -> Option<String> {
    let c = compact(postal)?;
    let b = c.as_bytes();
    if b.len() != 6 {
        return None;
    }
    let letter = |x: u8| x.is_ascii_uppercase() && !b"DFIOQU".contains(&x);
    let ok = letter(b[0])
        && !matches!(b[0], b'W' | b'Z')
        && b[1].is_ascii_digit()
        && letter(b[2])
        && b[3].is_ascii_digit()
        && letter(b[4])
        && b[5].is_ascii_digit();
    ok.then(|| format!("{} {}", &c[..3], &c[3..]))
}

/// UK postcodes: an outward code (`A9`, `A99`, `A9A`, `AA9`, `AA99`, `AA9A`), a space
/// and an inward code (`9AA`); also `GIR 0AA`.
fn british_postal_code(postal: &str) -> Option<String> {
    let c = compact(postal)?;
    if c == "GIR0AA" {
        return Some("GIR 0AA".to_string());
    }
    if !(5..=7).contains(&c.len()) {
        return None;
    }
    let (outward, inward) = c.split_at(c.len() - 3);
    let i = inward.as_bytes();
    if !(i[0].is_ascii_digit() && i[1].is_ascii_alphabetic() && i[2].is_ascii_alphabetic()) {
        return None;
    }
    let shape: String = outward
        .bytes()
        .map(|b| if b.is_ascii_digit() { '9' } else { 'A' })
        .collect();
    let outward_ok = matches!(
        shape.as_str(),
        "A9" | "A99" | "A9A" | "AA9" | "AA99" | "AA9A"
    );
    outward_ok.then(|| format!("{outward} {inward}"))
}

/// `1234 AB`: four digits not starting with 0, two letters other than SA, SD and SS.
fn dutch_postal_code(postal: &str) -> Option<String> {
    let c = compact(postal)?;
    let b = c.as_bytes();
    if b.len() != 6 {
        return None;
    }
    let ok = b[0] != b'0'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphabetic)
        && !matches!(&c[4..], "SA" | "SD" | "SS");
    ok.then(|| format!("{} {}", &c[..4], &c[4..]))
}

/// A name reduced for comparison: lower case, common Latin diacritics removed,
/// hyphens and underscores as spaces, dots, commas, apostrophes and parentheses
/// dropped, runs of spaces collapsed.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
            'ç' | 'č' | 'ć' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'ñ' | 'ń' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
            'ý' | 'ÿ' => 'y',
            'š' | 'ś' => 's',
            'ž' | 'ź' | 'ż' => 'z',
            'ß' => 's',
            '-' | '_' | '–' | '—' => ' ',
            '.' | ',' | '\'' | '’' | '(' | ')' => continue,
            c => c,
        };
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_country_list_is_complete_sorted_and_unique() {
        assert_eq!(COUNTRIES.len(), 249);
        for pair in COUNTRIES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (code, name) in COUNTRIES {
            assert_eq!(code.len(), 2);
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(!name.is_empty());
        }
        let names: HashSet<String> = COUNTRIES.iter().map(|(_, n)| fold(n)).collect();
        assert_eq!(names.len(), COUNTRIES.len(), "folded names must be unique");
    }

    #[test]
    fn country_names_by_code_in_any_case() {
        assert_eq!(country_name("US"), Some("United States"));
        assert_eq!(country_name("us"), Some("United States"));
        assert_eq!(country_name(" gB "), Some("United Kingdom"));
        assert_eq!(country_name("DE"), Some("Germany"));
        assert_eq!(country_name("XK"), None, "Kosovo is user-assigned, not ISO");
        assert_eq!(country_name("USA"), None);
        assert_eq!(country_name(""), None);
        assert_eq!(country_code("nl"), Some("NL"));
    }

    #[test]
    fn countries_by_name_and_alias() {
        assert_eq!(country_by_name("Germany"), Some("DE"));
        assert_eq!(country_by_name("  united   STATES "), Some("US"));
        assert_eq!(country_by_name("United States of America"), Some("US"));
        assert_eq!(country_by_name("U.S.A."), Some("US"));
        assert_eq!(country_by_name("UK"), Some("GB"));
        assert_eq!(country_by_name("Cote d'Ivoire"), Some("CI"));
        assert_eq!(country_by_name("Côte d’Ivoire"), Some("CI"));
        assert_eq!(country_by_name("Korea, Republic of"), Some("KR"));
        assert_eq!(country_by_name("Russian Federation"), Some("RU"));
        assert_eq!(country_by_name("Turkey"), Some("TR"));
        assert_eq!(country_by_name("Guinea-Bissau"), Some("GW"));
        assert_eq!(country_by_name("guinea bissau"), Some("GW"));
        assert_eq!(country_by_name("Guinea"), Some("GN"));
        assert_eq!(country_by_name("Narnia"), None);
        assert_eq!(country_by_name(""), None);
        assert_eq!(country_by_name("..."), None);
    }

    #[test]
    fn every_alias_names_a_real_country_and_no_alias_is_ambiguous() {
        for (alias, code) in COUNTRY_ALIASES {
            assert!(country_name(code).is_some(), "{alias} -> {code}");
            assert_eq!(country_by_name(alias), Some(*code), "{alias}");
        }
        let mut seen = HashSet::new();
        for (name, _) in COUNTRIES
            .iter()
            .map(|&(c, n)| (n, c))
            .chain(COUNTRY_ALIASES.iter().copied())
        {
            assert!(seen.insert(fold(name)), "{name} appears twice");
        }
    }

    #[test]
    fn subdivision_coverage() {
        let count = |c| subdivisions(c).len();
        assert_eq!(count("US"), 50 + 1 + 6 + 3);
        assert_eq!(count("CA"), 13);
        assert_eq!(count("AU"), 8);
        assert_eq!(count("IN"), 36);
        assert_eq!(count("MX"), 32);
        assert_eq!(count("BR"), 27);
        assert_eq!(count("DE"), 16);
        assert_eq!(count("JP"), 47);
        assert_eq!(count("GB"), 0);
        for s in SUBDIVISIONS {
            assert!(country_name(s.country).is_some());
            let codes: HashSet<_> = s.list.iter().map(|(c, _)| *c).collect();
            assert_eq!(codes.len(), s.list.len(), "{} codes unique", s.country);
            let names: HashSet<_> = s.list.iter().map(|(_, n)| fold(n)).collect();
            assert_eq!(names.len(), s.list.len(), "{} names unique", s.country);
            for (code, name) in s.list {
                assert_eq!(subdivision(s.country, code), Some((*code, *name)));
                assert_eq!(subdivision(s.country, name), Some((*code, *name)));
                let prefixed = format!("{}-{}", s.country.to_lowercase(), code.to_lowercase());
                assert_eq!(subdivision(s.country, &prefixed), Some((*code, *name)));
            }
        }
        for (country, alias, code) in SUBDIVISION_ALIASES {
            let found = subdivision(country, alias).map(|(c, _)| c);
            assert_eq!(found, Some(*code), "{country} {alias}");
        }
        for (country, old, current) in LEGACY_CODES {
            let found = subdivision(country, old).map(|(c, _)| c);
            assert_eq!(found, Some(*current), "{country} {old}");
        }
    }

    #[test]
    fn subdivision_lookup_forms() {
        let ca = Some(("CA", "California"));
        assert_eq!(subdivision("US", "CA"), ca);
        assert_eq!(subdivision("us", "ca"), ca);
        assert_eq!(subdivision("US", "US-CA"), ca);
        assert_eq!(subdivision("US", "California"), ca);
        assert_eq!(subdivision("US", " california "), ca);
        assert_eq!(subdivision("US", "Calif"), None);
        assert_eq!(subdivision("US", "ON"), None);
        assert_eq!(subdivision("US", ""), None);
        assert_eq!(subdivision("US", "US-"), None);
        assert_eq!(subdivision("CA", "Québec"), Some(("QC", "Quebec")));
        assert_eq!(subdivision("CA", "quebec"), Some(("QC", "Quebec")));
        assert_eq!(subdivision("DE", "Bayern"), Some(("BY", "Bavaria")));
        assert_eq!(
            subdivision("DE", "baden wurttemberg"),
            Some(("BW", "Baden-Württemberg"))
        );
        assert_eq!(subdivision("MX", "Nuevo Leon"), Some(("NLE", "Nuevo León")));
        assert_eq!(
            subdivision("MX", "MX-CMX"),
            Some(("CMX", "Ciudad de México"))
        );
        assert_eq!(subdivision("BR", "sao paulo"), Some(("SP", "São Paulo")));
        assert_eq!(subdivision("JP", "13"), Some(("13", "Tokyo")));
        assert_eq!(subdivision("JP", "JP-13"), Some(("13", "Tokyo")));
        assert_eq!(subdivision("JP", "1"), Some(("01", "Hokkaido")));
        assert_eq!(subdivision("JP", "Tōkyō"), Some(("13", "Tokyo")));
        assert_eq!(subdivision("IN", "OR"), Some(("OD", "Odisha")));
        assert_eq!(subdivision("AU", "nsw"), Some(("NSW", "New South Wales")));
        assert_eq!(subdivision("GB", "England"), None);
        assert_eq!(subdivision("ZZ", "CA"), None);
    }

    #[test]
    fn which_countries_have_and_require_states() {
        for c in ["US", "us", "CA", "AU", "IN", "MX", "BR", "JP", "DE"] {
            assert!(has_subdivisions(c), "{c}");
        }
        assert!(!has_subdivisions("GB"));
        assert!(!has_subdivisions("FR"));
        assert!(state_required("US"));
        assert!(state_required("jp"));
        assert!(!state_required("DE"));
        assert!(!state_required("GB"));
        assert_eq!(subdivision_kind("CA"), Some("provinces and territories"));
    }

    #[test]
    fn postal_code_requirement() {
        assert!(postal_code_required("US"));
        assert!(postal_code_required("gb"));
        assert!(postal_code_required("DE"));
        for c in ["AE", "HK", "IE", "QA", "MO", "JM"] {
            assert!(!postal_code_required(c), "{c}");
        }
        assert!(!postal_code_required("ZZ"));
        for c in NO_POSTAL_CODE {
            assert!(country_name(c).is_some(), "{c}");
        }
        let unique: HashSet<_> = NO_POSTAL_CODE.iter().collect();
        assert_eq!(unique.len(), NO_POSTAL_CODE.len());
    }

    #[test]
    fn us_postal_codes() {
        assert!(postal_code_valid("US", "94103"));
        assert!(postal_code_valid("US", "94103-1234"));
        assert!(postal_code_valid("us", " 02134 "));
        assert_eq!(
            canonical_postal_code("US", "941031234").as_deref(),
            Some("94103-1234")
        );
        assert!(!postal_code_valid("US", "9410"));
        assert!(!postal_code_valid("US", "941031"));
        assert!(!postal_code_valid("US", "9410A"));
        assert!(!postal_code_valid("US", "94103-12"));
        assert!(!postal_code_valid("US", ""));
    }

    #[test]
    fn canadian_postal_codes() {
        assert_eq!(
            canonical_postal_code("CA", "K1A 0B1").as_deref(),
            Some("K1A 0B1")
        );
        assert_eq!(
            canonical_postal_code("CA", "k1a0b1").as_deref(),
            Some("K1A 0B1")
        );
        assert_eq!(
            canonical_postal_code("CA", "M5V-3L9").as_deref(),
            Some("M5V 3L9")
        );
        assert!(!postal_code_valid("CA", "K1A 0B"));
        assert!(!postal_code_valid("CA", "11A 0B1"));
        assert!(!postal_code_valid("CA", "D1A 0B1"), "no D");
        assert!(!postal_code_valid("CA", "W1A 0B1"), "no leading W");
        assert!(postal_code_valid("CA", "K1W 0B1"), "W later is fine");
        assert!(!postal_code_valid("CA", "94103"));
    }

    #[test]
    fn british_postcodes() {
        for (input, canonical) in [
            ("SW1A 1AA", "SW1A 1AA"),
            ("sw1a1aa", "SW1A 1AA"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
            ("gir 0aa", "GIR 0AA"),
        ] {
            assert_eq!(
                canonical_postal_code("GB", input).as_deref(),
                Some(canonical),
                "{input}"
            );
        }
        for bad in [
            "SW1A", "12345", "SW1A 1A", "SW1A 11A", "1W1A 1AA", "ABCD 1AA", "SW1A!1AA",
        ] {
            assert!(!postal_code_valid("GB", bad), "{bad}");
        }
    }

    #[test]
    fn european_postal_codes() {
        assert!(postal_code_valid("DE", "10115"));
        assert!(!postal_code_valid("DE", "1011"));
        assert!(!postal_code_valid("DE", "D-10115"));
        assert!(postal_code_valid("FR", "75008"));
        assert!(!postal_code_valid("FR", "750080"));
        assert_eq!(
            canonical_postal_code("NL", "1012ab").as_deref(),
            Some("1012 AB")
        );
        assert_eq!(
            canonical_postal_code("NL", "1012 AB").as_deref(),
            Some("1012 AB")
        );
        assert!(!postal_code_valid("NL", "0123 AB"));
        assert!(!postal_code_valid("NL", "1012 SS"));
        assert!(!postal_code_valid("NL", "1012"));
        assert_eq!(
            canonical_postal_code("SE", "11455").as_deref(),
            Some("114 55")
        );
        assert_eq!(
            canonical_postal_code("PL", "00-950").as_deref(),
            Some("00-950")
        );
        assert_eq!(
            canonical_postal_code("PT", "1000-001").as_deref(),
            Some("1000-001")
        );
    }

    #[test]
    fn other_postal_codes() {
        assert!(postal_code_valid("AU", "2000"));
        assert!(!postal_code_valid("AU", "200"));
        assert_eq!(
            canonical_postal_code("JP", "100-0001").as_deref(),
            Some("100-0001")
        );
        assert_eq!(
            canonical_postal_code("JP", "1000001").as_deref(),
            Some("100-0001")
        );
        assert!(!postal_code_valid("JP", "100-001"));
        assert!(postal_code_valid("IN", "110001"));
        assert_eq!(
            canonical_postal_code("IN", "110 001").as_deref(),
            Some("110001")
        );
        assert!(!postal_code_valid("IN", "010001"));
        assert!(!postal_code_valid("IN", "11001"));
        assert_eq!(
            canonical_postal_code("BR", "01310100").as_deref(),
            Some("01310-100")
        );
    }

    #[test]
    fn generic_postal_codes() {
        assert!(postal_code_valid("AR", "C1425"));
        assert!(postal_code_valid("ar", "c1425dka"));
        assert_eq!(
            canonical_postal_code("AR", "c1425dka").as_deref(),
            Some("C1425DKA")
        );
        assert!(postal_code_valid("LV", "LV-1050"));
        assert!(postal_code_valid("XX", "12 34"));
        assert!(!postal_code_valid("AR", "1234567890123"));
        assert!(!postal_code_valid("AR", "--"));
        assert!(!postal_code_valid("AR", "12#4"));
        assert!(!postal_code_valid("AR", "１２３"), "ASCII only");
    }

    #[test]
    fn canonical_postal_codes_are_fixed_points() {
        for (country, input) in [
            ("US", "941031234"),
            ("CA", "k1a0b1"),
            ("GB", "sw1a1aa"),
            ("NL", "1012ab"),
            ("JP", "1000001"),
            ("SE", "11455"),
            ("AR", "c1425dka"),
        ] {
            let once = canonical_postal_code(country, input);
            let twice = once
                .as_deref()
                .and_then(|p| canonical_postal_code(country, p));
            assert_eq!(once, twice, "{country} {input}");
        }
    }

    #[test]
    fn postal_code_formats_for_messages() {
        assert_eq!(postal_code_format("US"), "12345 or 12345-6789");
        assert_eq!(postal_code_format("jp"), "123-4567");
        assert_eq!(postal_code_format("CA"), "A1A 1A1");
        assert_eq!(
            postal_code_format("AR"),
            "1 to 12 letters, digits, spaces or hyphens"
        );
        for (country, shapes) in POSTAL_SHAPES {
            for shape in *shapes {
                assert!(
                    postal_code_valid(country, &example_of(shape)),
                    "{country} {shape}"
                );
            }
        }
    }

    #[test]
    fn folding() {
        assert_eq!(fold("  Baden-Württemberg "), "baden wurttemberg");
        assert_eq!(fold("Côte d'Ivoire"), "cote divoire");
        assert_eq!(fold("U.S.A."), "usa");
        assert_eq!(fold("Cocos (Keeling)  Islands"), "cocos keeling islands");
        assert_eq!(fold(""), "");
    }
}
