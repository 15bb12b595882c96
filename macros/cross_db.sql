{#-
    Engine differences live here, each behind adapter.dispatch with a default__ and the engine
    versions. Models call only these and dbt Core's own cross-database macros.
    Regex patterns passed in must avoid backslashes (Spark unescapes string literals): use
    [0-9], [.] and friends.
-#}

{% macro regex_matches(expression, pattern) %}
    {{ return(adapter.dispatch('regex_matches', 'crm_retention')(expression, pattern)) }}
{% endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_matches(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_matches(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_matches(expression, pattern) -%}
    ({{ expression }} rlike '{{ pattern }}')
{%- endmacro %}

{% macro bigquery__regex_matches(expression, pattern) -%}
    regexp_contains({{ expression }}, r'{{ pattern }}')
{%- endmacro %}

{#- Text with every character of `characters` (an SQL text expression) trimmed from both ends. -#}
{% macro trim_characters(text, characters) %}
    {{ return(adapter.dispatch('trim_characters', 'crm_retention')(text, characters)) }}
{% endmacro %}

{% macro default__trim_characters(text, characters) -%}
    trim(both {{ characters }} from {{ text }})
{%- endmacro %}

{#- Snowflake's and BigQuery's trim take the characters as a second argument, not `both ... from`. -#}
{% macro snowflake__trim_characters(text, characters) -%}
    trim({{ text }}, {{ characters }})
{%- endmacro %}

{% macro bigquery__trim_characters(text, characters) -%}
    trim({{ text }}, {{ characters }})
{%- endmacro %}

{#- Every match of a pattern replaced (same backslash rule as regex_matches). -#}
{% macro regex_replace_all(expression, pattern, replacement) %}
    {{ return(adapter.dispatch('regex_replace_all', 'crm_retention')(expression, pattern, replacement)) }}
{% endmacro %}

{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#- Snowflake's and Redshift's regexp_replace replace every match; their 4th argument is a position. -#}
{% macro snowflake__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro redshift__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro bigquery__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, r'{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#-
    The keyword that keeps a CTE read by several others from being materialised: each reader
    computes it again from the raw table instead of the engine holding a copy of every raw row.
    DuckDB and PostgreSQL materialise such a CTE unless told not to; Spark inlines every
    deterministic CTE, and other engines have no such keyword.
-#}
{% macro not_materialized() %}
    {{ return(adapter.dispatch('not_materialized', 'crm_retention')()) }}
{% endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro postgres__not_materialized() -%}
    not materialized
{%- endmacro %}

{#- Redshift parses PostgreSQL's dialect but has no such keyword. -#}
{% macro redshift__not_materialized() -%}
{%- endmacro %}

{#- The UTC calendar date the build runs on: "future" timestamps are after it. -#}
{% macro current_utc_date() %}
    {{ return(adapter.dispatch('current_utc_date', 'crm_retention')()) }}
{% endmacro %}

{% macro default__current_utc_date() -%}
    cast({{ dbt.current_timestamp() }} as date)
{%- endmacro %}

{% macro duckdb__current_utc_date() -%}
    cast(timezone('UTC', current_timestamp) as date)
{%- endmacro %}

{% macro postgres__current_utc_date() -%}
    cast(timezone('UTC', now()) as date)
{%- endmacro %}

{% macro spark__current_utc_date() -%}
    to_date(to_utc_timestamp(current_timestamp(), current_timezone()))
{%- endmacro %}

{% macro snowflake__current_utc_date() -%}
    cast(convert_timezone('UTC', current_timestamp()) as date)
{%- endmacro %}

{#- Redshift has no now(); its current_date is the session's, and Redshift sessions run in UTC unless set otherwise. -#}
{% macro redshift__current_utc_date() -%}
    current_date
{%- endmacro %}

{% macro bigquery__current_utc_date() -%}
    current_date('UTC')
{%- endmacro %}

{#- A typed timestamp-with-time-zone column as a UTC timestamp without time zone. -#}
{% macro timestamptz_to_utc(expression) %}
    {{ return(adapter.dispatch('timestamptz_to_utc', 'crm_retention')(expression)) }}
{% endmacro %}

{% macro default__timestamptz_to_utc(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__timestamptz_to_utc(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}

{% macro postgres__timestamptz_to_utc(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}

{#- TIMESTAMP_TZ and TIMESTAMP_LTZ: the instant in UTC, then its wall-clock time (timestamp_ntz). -#}
{% macro snowflake__timestamptz_to_utc(expression) -%}
    cast(convert_timezone('UTC', {{ expression }}) as timestamp_ntz)
{%- endmacro %}

{#-
    The wall-clock time in target_zone of a wall-clock time (timestamp without time zone) in
    source_zone, by the tz database, so daylight saving time is respected. Both zones are
    validated IANA names (get_timezone); the same zone returns the expression unchanged.
-#}
{% macro convert_timezone(expression, source_zone, target_zone) %}
    {% if source_zone == target_zone %}{{ return(expression) }}{% endif %}
    {{ return(adapter.dispatch('convert_timezone', 'crm_retention')(expression, source_zone, target_zone)) }}
{% endmacro %}

{% macro default__convert_timezone(expression, source_zone, target_zone) -%}
    (({{ expression }}) at time zone '{{ source_zone }}') at time zone '{{ target_zone }}'
{%- endmacro %}

{#- timezone(zone, timestamp) reads the wall clock in the zone (a timestamptz); timezone(zone, timestamptz) gives it back. -#}
{% macro duckdb__convert_timezone(expression, source_zone, target_zone) -%}
    timezone('{{ target_zone }}', timezone('{{ source_zone }}', {{ expression }}))
{%- endmacro %}

{% macro spark__convert_timezone(expression, source_zone, target_zone) -%}
    {%- set utc = expression if source_zone == 'UTC' else 'to_utc_timestamp(' ~ expression ~ ", '" ~ source_zone ~ "')" -%}
    {{ utc if target_zone == 'UTC' else 'from_utc_timestamp(' ~ utc ~ ", '" ~ target_zone ~ "')" }}
{%- endmacro %}

{% macro snowflake__convert_timezone(expression, source_zone, target_zone) -%}
    convert_timezone('{{ source_zone }}', '{{ target_zone }}', cast({{ expression }} as timestamp_ntz))
{%- endmacro %}

{#- The calendar date in crm_timezone of a UTC timestamp: the order date, the response date. -#}
{% macro local_date(utc) -%}
    cast({{ crm_retention.convert_timezone(utc, 'UTC', crm_retention.get_timezone()) }} as date)
{%- endmacro %}

{#- Money: one exact decimal type everywhere, so sums agree across engines to the cent. -#}
{% macro type_money() %}
    {{ return(adapter.dispatch('type_money', 'crm_retention')()) }}
{% endmacro %}

{% macro default__type_money() -%}
    decimal(38, 6)
{%- endmacro %}

{% macro postgres__type_money() -%}
    numeric(38, 6)
{%- endmacro %}

{% macro bigquery__type_money() -%}
    bignumeric
{%- endmacro %}

{#- Rates are 64-bit floats everywhere (dbt's type_float is 32-bit on some engines). -#}
{% macro type_rate() %}
    {{ return(adapter.dispatch('type_rate', 'crm_retention')()) }}
{% endmacro %}

{% macro default__type_rate() -%}
    double precision
{%- endmacro %}

{% macro spark__type_rate() -%}
    double
{%- endmacro %}

{% macro bigquery__type_rate() -%}
    float64
{%- endmacro %}

{#- A rate: numerator / denominator as a float, null when the denominator is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    case
        when {{ denominator }} = 0 then null
        else cast({{ numerator }} as {{ crm_retention.type_rate() }}) / cast({{ denominator }} as {{ crm_retention.type_rate() }})
    end
{%- endmacro %}

{#- Days from start_date to end_date, both dates. -#}
{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{% macro add_days(date_expression, days) %}
    {{ return(adapter.dispatch('add_days', 'crm_retention')(date_expression, days)) }}
{% endmacro %}

{% macro default__add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{#- dbt-spark's dateadd goes through Unix seconds and asserts its input is not null. -#}
{% macro spark__add_days(date_expression, days) -%}
    date_add(cast({{ date_expression }} as date), cast({{ days }} as int))
{%- endmacro %}

{#- A date moved by whole months (dbt's dateadd has no 'quarter' on PostgreSQL: count months). -#}
{% macro add_months(date_expression, months) %}
    {{ return(adapter.dispatch('add_months', 'crm_retention')(date_expression, months)) }}
{% endmacro %}

{% macro default__add_months(date_expression, months) -%}
    cast({{ dbt.dateadd('month', months, date_expression) }} as date)
{%- endmacro %}

{% macro spark__add_months(date_expression, months) -%}
    add_months(cast({{ date_expression }} as date), cast({{ months }} as int))
{%- endmacro %}

{#- A timestamp moved by a whole number of minutes, keeping its fraction of a second. -#}
{% macro add_minutes(timestamp_expression, minutes) %}
    {{ return(adapter.dispatch('add_minutes', 'crm_retention')(timestamp_expression, minutes)) }}
{% endmacro %}

{% macro default__add_minutes(timestamp_expression, minutes) -%}
    {{ dbt.dateadd('minute', minutes, timestamp_expression) }}
{%- endmacro %}

{#- dbt-spark's dateadd drops the fraction of a second (it goes through Unix seconds). -#}
{% macro spark__add_minutes(timestamp_expression, minutes) -%}
    timestampadd(minute, cast({{ minutes }} as int), {{ timestamp_expression }})
{%- endmacro %}

{#- dbt-bigquery's dateadd returns a DATETIME, which BigQuery does not compare with a TIMESTAMP. -#}
{% macro bigquery__add_minutes(timestamp_expression, minutes) -%}
    timestamp_add({{ timestamp_expression }}, interval cast({{ minutes }} as int64) minute)
{%- endmacro %}

{#-
    Demo seeds on Spark. dbt-spark's own loader pastes each value into the SQL as '<value>'
    (session method) without escaping, so a name like O'Neil breaks the insert and an empty
    cell loads as the text 'None' instead of null. This version writes escaped literals and
    real nulls. It is picked up only where this package is the root project (the standalone
    demo), the only place its seeds are enabled.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {% set column_override = model['config'].get('column_types', {}) %}
    {% set statements = [] %}
    {% for chunk in agate_table.rows | batch(get_batch_size()) %}
        {% set sql %}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                (
                {%- for col_name in agate_table.column_names -%}
                    {%- set data_type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    cast({{ crm_retention.spark_seed_literal(row[loop.index0]) }} as {{ data_type }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%}
                ){%- if not loop.last %},{% endif %}
            {% endfor %}
        {% endset %}
        {% do adapter.add_query(sql, abridge_sql_log=True) %}
        {% if loop.first %}{% do statements.append(sql) %}{% endif %}
    {% endfor %}
    {{ return(statements[0]) }}
{% endmacro %}

{#- A seed value as a Spark literal: backslashes and quotes escaped, as Spark unescapes literals. -#}
{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
