{#-
    Parsing of raw text into typed values, shared by every staging model. Each macro takes an
    expression that already holds the trimmed text of a raw value (see raw_text) and returns a
    SQL expression built from regex checks, substrings and guarded casts, so that nothing errors
    on bad input on any engine: a value is cast only after its shape has been checked.
    The accepted shapes are documented in docs/definitions.md.
-#}

{#-
    The trimmed text of a raw column, null when blank. Given the column's data type, a number
    (an integer id, say) is only cast: it has no blanks to trim.
-#}
{% macro raw_text(column, data_type='text') -%}
    {%- if crm_retention.is_numeric_type(data_type) -%}
        cast({{ column }} as {{ dbt.type_string() }})
    {%- else -%}
        nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
    {%- endif -%}
{%- endmacro %}

{#- Raw columns of a relation by lower-cased name, read only when dbt executes. -#}
{% macro relation_columns(relation) %}
    {% set columns = {} %}
    {% if execute %}
        {% for column in adapter.get_columns_in_relation(relation) %}
            {% do columns.update({column.name | lower: column.data_type | lower}) %}
        {% endfor %}
    {% endif %}
    {{ return(columns) }}
{% endmacro %}

{% macro is_numeric_type(data_type) %}
    {{ return(modules.re.match('(numeric|decimal|double|float|real|int|bigint|smallint|integer|hugeint|tinyint|number)', data_type) is not none) }}
{% endmacro %}

{% macro is_timestamp_type(data_type) %}
    {{ return(modules.re.match('(timestamp|datetime|date)', data_type) is not none) }}
{% endmacro %}

{% macro is_timestamptz_type(data_type) %}
    {{ return('with time zone' in data_type or data_type in ['timestamptz', 'timestamp_tz', 'timestamp_ltz']) }}
{% endmacro %}

{# ---------- amounts ---------- #}

{#- Text without currency symbols and spaces: '$1,234.50' -> '1,234.50'. -#}
{% macro amount_clean_text(text) -%}
    replace(replace(replace(replace({{ text }}, '$', ''), '€', ''), '£', ''), ' ', '')
{%- endmacro %}

{% macro amount_is_number(text) -%}
    coalesce({{ crm_retention.regex_matches(
        crm_retention.amount_clean_text(text),
        '^-?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)([.][0-9]+)?$'
    ) }}, false)
{%- endmacro %}

{#- The amount's value; only meaningful where amount_is_number holds. -#}
{% macro amount_value(text) -%}
    cast(replace({{ crm_retention.amount_clean_text(text) }}, ',', '') as {{ crm_retention.type_money() }})
{%- endmacro %}

{#-
    An amount column as expressions, typed or text: is_present (a value was given), is_number
    (it is a number) and value. A typed column is never cast to text.
-#}
{% macro parse_amount(column, data_type) %}
    {% if crm_retention.is_numeric_type(data_type) %}
        {{ return({
            'is_present': '(' ~ column ~ ' is not null)',
            'is_number': '(' ~ column ~ ' is not null)',
            'value': 'cast(' ~ column ~ ' as ' ~ crm_retention.type_money() ~ ')',
        }) }}
    {% endif %}
    {% set text = crm_retention.raw_text(column) %}
    {{ return({
        'is_present': '(' ~ text ~ ' is not null)',
        'is_number': crm_retention.amount_is_number(text),
        'value': 'case when ' ~ crm_retention.amount_is_number(text) ~ ' then ' ~ crm_retention.amount_value(text) ~ ' end',
    }) }}
{% endmacro %}

{# ---------- timestamps ---------- #}

{% macro _int_at(text, position, length) -%}
    cast(substr({{ text }}, {{ position }}, {{ length }}) as {{ dbt.type_int() }})
{%- endmacro %}

{#- Characters of the trailing UTC designator: 1 for Z, 6 for +HH:MM, 5 for +HHMM, else 0. -#}
{% macro _offset_length(text) -%}
    case
        when length({{ text }}) <= 10 then 0
        when upper(substr({{ text }}, length({{ text }}), 1)) = 'Z' then 1
        when substr({{ text }}, length({{ text }}) - 5, 1) in ('+', '-') then 6
        when substr({{ text }}, length({{ text }}) - 4, 1) in ('+', '-') then 5
        else 0
    end
{%- endmacro %}

{%- macro _days_in_month(year, month) -%}
    case
        when {{ month }} in (4, 6, 9, 11) then 30
        when {{ month }} <> 2 then 31
        when ({{ year }} % 4 = 0 and {{ year }} % 100 <> 0) or {{ year }} % 400 = 0 then 29
        else 28
    end
{%- endmacro %}

{#- True when the text is an ISO-8601 date or timestamp that exists on the calendar. -#}
{% macro timestamp_is_valid(text) -%}
    {%- set month = crm_retention._int_at(text, 6, 2) -%}
    {%- set offset_length = crm_retention._offset_length(text) -%}
    case
        when {{ text }} is null then false
        when not {{ crm_retention.regex_matches(text,
            '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?([zZ]|[+-][0-9]{2}:?[0-9]{2})?)?$'
        ) }} then false
        when {{ month }} not between 1 and 12 then false
        when {{ crm_retention._int_at(text, 9, 2) }}
            not between 1 and {{ crm_retention._days_in_month(crm_retention._int_at(text, 1, 4), month) }} then false
        when length({{ text }}) = 10 then true
        when {{ crm_retention._int_at(text, 12, 2) }} > 23 or {{ crm_retention._int_at(text, 15, 2) }} > 59 then false
        when substr({{ text }}, 17, 1) = ':' and {{ crm_retention._int_at(text, 18, 2) }} > 59 then false
        when {{ offset_length }} >= 5 and (
            {{ crm_retention._int_at(text, 'length(' ~ text ~ ') - ' ~ offset_length ~ ' + 2', 2) }} * 60
            + {{ crm_retention._int_at(text, 'length(' ~ text ~ ') - 1', 2) }} > 14 * 60
            or {{ crm_retention._int_at(text, 'length(' ~ text ~ ') - 1', 2) }} > 59
        ) then false
        else true
    end
{%- endmacro %}

{#- The UTC timestamp of a text that timestamp_is_valid accepted; a value without offset is UTC. -#}
{% macro timestamp_to_utc(text) -%}
    {%- set offset_length = crm_retention._offset_length(text) -%}
    {%- set local_text = 'replace(substr(' ~ text ~ ', 1, length(' ~ text ~ ') - ' ~ offset_length ~ '), \'T\', \' \')' -%}
    {%- set offset_minutes -%}
        case
            when {{ offset_length }} < 5 then 0
            else (case when substr({{ text }}, length({{ text }}) - {{ offset_length }} + 1, 1) = '-' then -1 else 1 end)
                * ({{ crm_retention._int_at(text, 'length(' ~ text ~ ') - ' ~ offset_length ~ ' + 2', 2) }} * 60
                    + {{ crm_retention._int_at(text, 'length(' ~ text ~ ') - 1', 2) }})
        end
    {%- endset -%}
    {{ crm_retention.add_minutes('cast(' ~ local_text ~ ' as ' ~ dbt.type_timestamp() ~ ')', '-1 * (' ~ offset_minutes ~ ')') }}
{%- endmacro %}

{#-
    A timestamp column as expressions, typed or text: is_present (a value was given), is_valid
    (it is a timestamp) and utc (its UTC value). A typed column is never cast to text.
-#}
{% macro parse_timestamp(column, data_type) %}
    {% if crm_retention.is_timestamp_type(data_type) %}
        {% if crm_retention.is_timestamptz_type(data_type) %}
            {% set utc = crm_retention.timestamptz_to_utc(column) %}
        {% else %}
            {% set utc = 'cast(' ~ column ~ ' as ' ~ dbt.type_timestamp() ~ ')' %}
        {% endif %}
        {{ return({'is_present': '(' ~ column ~ ' is not null)', 'is_valid': '(' ~ column ~ ' is not null)', 'utc': utc}) }}
    {% endif %}
    {% set text = crm_retention.raw_text(column) %}
    {{ return({
        'is_present': '(' ~ text ~ ' is not null)',
        'is_valid': crm_retention.timestamp_is_valid(text),
        'utc': 'case when ' ~ crm_retention.timestamp_is_valid(text) ~ ' then ' ~ crm_retention.timestamp_to_utc(text) ~ ' end',
    }) }}
{% endmacro %}

{#- The raw values of a row as 'name=value; name=value' text for crm__rejected_rows. -#}
{% macro raw_values(columns) -%}
    {%- set parts = [] -%}
    {%- for name, expression in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'; '") -%}{%- endif -%}
        {%- do parts.append("'" ~ name ~ "='") -%}
        {%- do parts.append('coalesce(cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
