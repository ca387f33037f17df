-- 0010_iccs: a common classification of offenses, UNODC's ICCS.
--
-- Every agency's offense codes are its own penal code, so no two agencies
-- can be compared. The International Classification of Crime for
-- Statistical Purposes (UNODC, version 1.0, 2015) is the common ground: an
-- offense may carry one ICCS code (levels 1 to 4, 2, 4, 5 or 6 digits, each
-- code starting with its parent's), and the cube and the COMPSTAT sheet
-- count by it. The codes and their names are data/iccs/iccs.csv (sources in
-- data/iccs/PROVENANCE.md); the INSERT below is tools/iccs-sql's output.

CREATE TABLE iccs_codes (
    code     text PRIMARY KEY CHECK (code ~ '^[0-9]{2}([0-9]{2}([0-9]{1,2})?)?$'),
    level    smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    parent   text REFERENCES iccs_codes (code),
    name_en  text NOT NULL,
    name_es  text, -- NULL: no published Spanish name found (data/iccs/PROVENANCE.md)
    CHECK (length(code) = (ARRAY[2, 4, 5, 6])[level]),
    CHECK ((level = 1) = (parent IS NULL)),
    CHECK (parent IS NULL OR left(code, length(parent)) = parent)
);

INSERT INTO iccs_codes (code, level, parent, name_en, name_es) VALUES
    ('01', 1, NULL, 'Acts leading to death or intending to cause death', 'Actos que causan la muerte o que tienen la intención de causar la muerte'),
    ('0101', 2, '01', 'Intentional homicide', 'Homicidio intencional'),
    ('0102', 2, '01', 'Attempted intentional homicide', 'Tentativa de homicidio intencional'),
    ('0103', 2, '01', 'Non-intentional homicide', 'Homicidio no intencional'),
    ('01031', 3, '0103', 'Non-negligent manslaughter', NULL),
    ('01032', 3, '0103', 'Negligent manslaughter', NULL),
    ('010321', 4, '01032', 'Vehicular homicide', NULL),
    ('010322', 4, '01032', 'Non-vehicular homicide', NULL),
    ('0104', 2, '01', 'Assisting or instigating suicide', 'Suicidio asistido o incitación al suicidio'),
    ('01041', 3, '0104', 'Assisting suicide', NULL),
    ('01049', 3, '0104', 'Other acts of assisting or instigating suicide', NULL),
    ('0105', 2, '01', 'Euthanasia', 'Eutanasia'),
    ('0106', 2, '01', 'Illegal feticide', 'Feticidio ilegal'),
    ('0107', 2, '01', 'Unlawful killing associated with armed conflict', 'Homicidio ilícito relacionado con conflictos armados'),
    ('0109', 2, '01', 'Other acts leading to death or intending to cause death', 'Otros actos que causan la muerte o que tienen la intención de causar la muerte'),
    ('02', 1, NULL, 'Acts causing harm or intending to cause harm to the person', 'Actos que causan daños o que tienen la intención de causar daños a las personas'),
    ('0201', 2, '02', 'Assaults and threats', NULL),
    ('02011', 3, '0201', 'Assault', NULL),
    ('020111', 4, '02011', 'Serious assault', NULL),
    ('0202', 2, '02', 'Acts against liberty', NULL),
    ('02022', 3, '0202', 'Deprivation of liberty', NULL),
    ('020221', 4, '02022', 'Kidnapping', NULL),
    ('0204', 2, '02', 'Trafficking in persons', NULL),
    ('02041', 3, '0204', 'Trafficking in persons for sexual exploitation', NULL),
    ('02042', 3, '0204', 'Trafficking in persons for forced labour or services', NULL),
    ('03', 1, NULL, 'Injurious acts of a sexual nature', 'Actos lesivos de naturaleza sexual'),
    ('0301', 2, '03', 'Sexual violence', NULL),
    ('03011', 3, '0301', 'Rape', NULL),
    ('03012', 3, '0301', 'Sexual assault', NULL),
    ('03019', 3, '0301', 'Other acts of sexual violence', NULL),
    ('0302', 2, '03', 'Sexual exploitation', NULL),
    ('03022', 3, '0302', 'Sexual exploitation of children', NULL),
    ('030221', 4, '03022', 'Child pornography', NULL),
    ('04', 1, NULL, 'Acts against property involving violence or threat against a person', 'Actos contra la propiedad que entrañan violencia o amenaza de violencia contra las personas'),
    ('0401', 2, '04', 'Robbery', NULL),
    ('05', 1, NULL, 'Acts against property only', 'Actos contra la propiedad solamente'),
    ('0501', 2, '05', 'Burglary', NULL),
    ('05012', 3, '0501', 'Burglary of private residential premises', NULL),
    ('0502', 2, '05', 'Theft', NULL),
    ('05021', 3, '0502', 'Theft of a motorized vehicle or parts thereof', NULL),
    ('050211', 4, '05021', 'Theft of a motorized land vehicle', NULL),
    ('06', 1, NULL, 'Acts involving controlled psychoactive substances or other drugs', 'Actos que conllevan el uso de sustancias psicoactivas u otras drogas'),
    ('0601', 2, '06', 'Unlawful acts involving controlled drugs or precursors', NULL),
    ('07', 1, NULL, 'Acts involving fraud, deception or corruption', 'Actos que conllevan fraude, engaño o corrupción'),
    ('0701', 2, '07', 'Fraud', NULL),
    ('0703', 2, '07', 'Corruption', NULL),
    ('07031', 3, '0703', 'Bribery', NULL),
    ('08', 1, NULL, 'Acts against public order, authority and provisions of the State', 'Actos contra el orden público, la autoridad y las disposiciones del Estado'),
    ('09', 1, NULL, 'Acts against public safety and state security', 'Actos contra la seguridad pública y la seguridad del Estado'),
    ('0903', 2, '09', 'Acts against computer systems', NULL),
    ('10', 1, NULL, 'Acts against the natural environment', 'Actos contra el entorno natural'),
    ('1001', 2, '10', 'Acts that cause environmental pollution or degradation', NULL),
    ('1002', 2, '10', 'Acts involving the movement or dumping of waste', NULL),
    ('1003', 2, '10', 'Trade or possession of protected or prohibited species of fauna and flora', NULL),
    ('1004', 2, '10', 'Acts that result in the depletion or degradation of natural resources', NULL),
    ('11', 1, NULL, 'Other criminal acts not elsewhere classified', 'Otros actos delictivos no clasificados en otra parte');

-- NULL: not classified (counted under null by ICCS).
ALTER TABLE offenses ADD COLUMN iccs text REFERENCES iccs_codes (code);
