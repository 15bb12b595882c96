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

{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}
