// A small warehouse shaped like what connectors (form, mapping and alert apps) write into PostgreSQL.
export const SAMPLE_WAREHOUSE_SQL = String.raw`
CREATE SCHEMA IF NOT EXISTS forms;
CREATE SCHEMA IF NOT EXISTS mapping;
CREATE SCHEMA IF NOT EXISTS alerts;

CREATE TABLE forms.submissions (
  id bigint PRIMARY KEY,
  form_id text NOT NULL,
  submitted_at timestamptz NOT NULL,
  submitted_by text,
  answers jsonb NOT NULL,
  attachments text[]
);
INSERT INTO forms.submissions
SELECT g,
       (ARRAY['household_survey', 'water_point', 'health_visit'])[1 + g % 3],
       timestamptz '2024-01-01 06:00+00' + g * interval '37 minutes',
       CASE WHEN g % 11 = 0 THEN NULL ELSE 'enumerator_' || (g % 17) END,
       jsonb_build_object('members', g % 9, 'water_source', (ARRAY['well', 'river', 'tap'])[1 + g % 3],
                          'notes', CASE WHEN g % 7 = 0 THEN 'Road closed, "flooded"' ELSE '' END),
       CASE WHEN g % 4 = 0 THEN ARRAY['photo_' || g || '.jpg', 'signature_' || g || '.png'] ELSE ARRAY[]::text[] END
  FROM generate_series(1, 5000) g;

CREATE TABLE mapping.observations (
  id bigint PRIMARY KEY,
  observed_at timestamptz NOT NULL,
  category text NOT NULL,
  latitude double precision NOT NULL,
  longitude double precision NOT NULL,
  accuracy_m real,
  notes text
);
INSERT INTO mapping.observations
SELECT g,
       timestamptz '2024-02-01 00:00+00' + g * interval '11 minutes',
       (ARRAY['deforestation', 'mining', 'sacred_site', 'water_source'])[1 + g % 4],
       -3.4 + (g % 1000) / 1000.0, -62.2 + (g % 733) / 733.0,
       5 + g % 20,
       CASE WHEN g % 5 = 0 THEN E'Seen from the river,\nnear the old camp' END
  FROM generate_series(1, 8000) g;

CREATE TABLE alerts.alerts (
  id bigint PRIMARY KEY,
  raised_at timestamptz NOT NULL,
  resolved_at timestamptz,
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
  source text NOT NULL,
  message text NOT NULL,
  api_token text
);
INSERT INTO alerts.alerts
SELECT g,
       timestamptz '2024-03-01 00:00+00' + g * interval '5 hours',
       CASE WHEN g % 3 = 0 THEN NULL ELSE timestamptz '2024-03-01 00:00+00' + g * interval '5 hours' + interval '90 minutes' END,
       (ARRAY['low', 'medium', 'high'])[1 + g % 3],
       (ARRAY['gfw', 'sentinel', 'community'])[1 + g % 3],
       'Alert ' || g || ': change detected in sector ' || (g % 40),
       'tok_' || md5(g::text)
  FROM generate_series(1, 1200) g;

CREATE TABLE public.connector_runs (
  id serial PRIMARY KEY,
  connector text NOT NULL,
  started_at timestamptz NOT NULL,
  rows_loaded integer NOT NULL
);
INSERT INTO public.connector_runs (connector, started_at, rows_loaded)
SELECT (ARRAY['kobotoolbox', 'odk', 'mapeo', 'alerts'])[1 + g % 4], timestamptz '2024-01-01' + g * interval '1 day', g * 13 % 500
  FROM generate_series(1, 300) g;
ANALYZE;
`;
