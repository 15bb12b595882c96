{#-
    Parsing of raw text into typed values, shared by every staging model. Each macro takes an
    expression that already holds the trimmed text of a raw value (see raw_text) and returns a
    SQL expression built from regex checks, substrings and guarded casts, so that nothing errors
    on bad input on any engine: a value is cast only after its shape has been checked.
    The accepted shapes are documented in docs/definitions.md.
-#}

{#-
    Every kind of whitespace trimmed from raw text (docs/definitions.md, "Cleaning"): space, tab,
    LF, VT, FF, CR, NEL, NBSP and the other Unicode spaces, and the byte-order mark. A plain
    trim() leaves tabs and line breaks, which turn a blank id into a phantom customer.
    An SQL expression of the characters' codes, never the characters themselves: compiled SQL
    holding a CR or a line separator changes when any text filter splits its lines.
-#}
{% macro whitespace_characters() %}
    {%- set code_points = [32, 9, 10, 11, 12, 13, 133, 160, 5760] + (range(8192, 8203) | list)
        + [8232, 8233, 8239, 8287, 12288, 65279] -%}
    {{ return(adapter.dispatch('whitespace_characters', 'crm_retention')(code_points)) }}
{% endmacro %}

{% macro default__whitespace_characters(code_points) -%}
    ({% for code in code_points %}chr({{ code }}){% if not loop.last %} || {% endif %}{% endfor %})
{%- endmacro %}

{#- Spark's chr() returns a byte, not a Unicode character; its string literals read \uXXXX. -#}
{% macro spark__whitespace_characters(code_points) -%}
    '{% for code in code_points %}\u{{ "%04X" | format(code) }}{% endfor %}'
{%- endmacro %}

{#-
    Most values start and end with a printable ASCII character and need no trimming: they skip
    the trim with the Unicode character list, which costs DuckDB about four times a plain trim.
-#}
{% macro trim_whitespace(text) -%}
    case
        when {{ crm_retention.has_printable_ends(text) }} then {{ text }}
        else {{ crm_retention.trim_characters(text, crm_retention.whitespace_characters()) }}
    end
{%- endmacro %}

{#-
    True where text starts and ends with printable ASCII other than a space: such text has
    nothing to trim (trim_whitespace's fast path; an incremental re-read trims only the others).
-#}
{% macro has_printable_ends(text) -%}
    (ascii({{ text }}) between 33 and 126 and ascii(right({{ text }}, 1)) between 33 and 126)
{%- endmacro %}

{#-
    The trimmed text of a raw column, null when blank. Given the column's data type, a number
    (an integer id, say) is only cast: it has no blanks to trim.
-#}
{% macro raw_text(column, data_type='text') -%}
    {%- if crm_retention.is_numeric_type(data_type) -%}
        cast({{ column }} as {{ dbt.type_string() }})
    {%- else -%}
        nullif({{ crm_retention.trim_whitespace('cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')') }}, '')
    {%- endif -%}
{%- endmacro %}

{#- Raw columns of a relation by lower-cased name (each with its name as stored and its type), read only when dbt executes. -#}
{% macro relation_columns(relation) %}
    {% set columns = {} %}
    {% if execute %}
        {% for column in adapter.get_columns_in_relation(relation) %}
            {% do columns.update({column.name | lower: {'name': column.name, 'type': column.data_type | lower}}) %}
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

{#-
    The accepted shape of a text amount (docs/definitions.md, "Accepted shapes"): a number with
    at most one currency symbol or three-letter code at either end, thousands separators in
    valid groups only, and at most 20 digits before the point: below 10^20, so that the sum of
    10^12 amounts still fits the money type (decimal(38, 6)). '12 50', '1$2$3' and '12,50'
    match nothing and are rejected, never guessed.
-#}
{% macro amount_pattern() %}
    {%- set symbol = '([$€£]|[A-Za-z]{3})' -%}
    {%- set number = '([0-9]{1,20}|[0-9]{1,3}(,[0-9]{3}){1,5}|[0-9]{1,2}(,[0-9]{3}){6})([.][0-9]+)?' -%}
    {{ return('^(' ~ symbol ~ ' ?-?' ~ number ~ '|-?' ~ symbol ~ ' ?' ~ number ~ '|-?' ~ number ~ '( ?' ~ symbol ~ ')?)$') }}
{% endmacro %}

{#-
    Every amount, converted amount and term of a sum is below 10^20 in size (docs/definitions.md):
    the sum of 10^12 of them fits the money type. An exact literal, so that a decimal just below
    the bound is not rounded up to it in a comparison with a float.
-#}
{% macro amount_limit() -%}
    100000000000000000000
{%- endmacro %}

{% macro amount_is_number(text) -%}
    coalesce({{ crm_retention.regex_matches(text, crm_retention.amount_pattern()) }}, false)
{%- endmacro %}

{#- The amount's value; only meaningful where amount_is_number holds (symbols, codes and separators dropped). -#}
{% macro amount_value(text, data_type=none) -%}
    cast({{ crm_retention.regex_replace_all(text, '[^0-9.-]', '') }} as {{ data_type or crm_retention.type_money() }})
{%- endmacro %}

{#-
    The currency written in an amount's text, upper-cased: its three-letter code, or the symbol
    itself ('$', '€', '£'; which code a symbol stands for depends on the row's currency, see
    currency_of_amount); null without one. Only meaningful where amount_is_number holds. Most
    amounts start and end with a digit and skip the regex.
-#}
{% macro amount_currency_mark(text) -%}
    case
        when ascii(right({{ text }}, 1)) between 48 and 57 and ascii({{ text }}) between 48 and 57 then null
        when {{ crm_retention.amount_is_number(text) }}
            then nullif(upper({{ crm_retention.regex_replace_all(text, '[-0-9., ]', '') }}), '')
    end
{%- endmacro %}

{#-
    The dollar currencies a '$' in an amount agrees with; without a currency in the row, '$' is
    USD ('€' EUR, '£' GBP).
-#}
{% macro dollar_currencies() %}
    {{ return(['USD', 'AUD', 'BSD', 'BBD', 'BZD', 'BMD', 'BND', 'CAD', 'KYD', 'FJD', 'GYD', 'HKD', 'JMD', 'LRD',
        'NAD', 'NZD', 'SBD', 'SGD', 'SRD', 'TTD', 'TWD', 'XCD', 'ZWL', 'MXN', 'ARS', 'CLP', 'COP', 'CUP', 'DOP', 'UYU']) }}
{% endmacro %}

{#- The currency code of an amount's mark (amount_currency_mark) for a row whose currency column holds `row_currency` (upper-cased, or null). -#}
{% macro currency_of_amount(mark, row_currency) -%}
    case
        when {{ mark }} = '$' and {{ row_currency }} in ('{{ crm_retention.dollar_currencies() | join("', '") }}') then {{ row_currency }}
        when {{ mark }} = '$' then 'USD'
        when {{ mark }} = '€' then 'EUR'
        when {{ mark }} = '£' then 'GBP'
        else {{ mark }}
    end
{%- endmacro %}

{#-
    An amount column as expressions, typed or text: is_present (a value was given), is_number
    (it is a number below amount_limit in size: not NaN, not infinite), value and currency_mark
    (amount_currency_mark; null for a typed column). A typed column is never cast to text, and
    cast only where it fits, so that no raw value can stop the build. `text` names the column's
    trimmed text (raw_text) where a model has already computed it; the expressions read it many
    times, so naming it keeps the compiled SQL short. Without it, raw_text of the column is
    spelled out in each place.
-#}
{% macro parse_amount(column, data_type, text=none) %}
    {% set value_type = crm_retention.type_money() %}
    {% if crm_retention.is_numeric_type(data_type) %}
        {#- NaN sorts above every number on the supported engines, so the bound rejects it too. -#}
        {% set fits = '(abs(' ~ column ~ ') < ' ~ crm_retention.amount_limit() ~ ')' %}
        {{ return({
            'is_present': '(' ~ column ~ ' is not null)',
            'is_number': 'coalesce(' ~ fits ~ ', false)',
            'value': 'case when ' ~ fits ~ ' then cast(' ~ column ~ ' as ' ~ value_type ~ ') end',
            'currency_mark': 'cast(null as ' ~ dbt.type_string() ~ ')',
        }) }}
    {% endif %}
    {% set text = text or crm_retention.raw_text(column) %}
    {{ return({
        'is_present': '(' ~ text ~ ' is not null)',
        'is_number': crm_retention.amount_is_number(text),
        'value': 'case when ' ~ crm_retention.amount_is_number(text) ~ ' then ' ~ crm_retention.amount_value(text, value_type) ~ ' end',
        'currency_mark': crm_retention.amount_currency_mark(text),
    }) }}
{% endmacro %}

{#-
    The amount column `name` of a base model, parsed by parse_amount from its trimmed text
    (<name>_text, trimmed_columns). Where the column map names several raw columns for it
    (raw.parts, raw_columns), their amounts add up: present when any part is, a number when
    every present part is one (a blank part counts 0) and the sum stays below amount_limit, the
    currency written in the first part that writes one.
-#}
{% macro amount_parts(name, raw) %}
    {% set parts = raw.get('parts', {}).get(name) %}
    {% if not parts %}
        {{ return(crm_retention.parse_amount('raw_' ~ name, raw.types[name], name ~ '_text')) }}
    {% endif %}
    {% set present, numbers, values, marks = [], [], [], [] %}
    {% for part in parts %}
        {% set parsed = crm_retention.parse_amount('raw_' ~ name ~ '_' ~ loop.index, part.type, name ~ '_' ~ loop.index ~ '_text') %}
        {% do present.append(parsed.is_present) %}
        {% do numbers.append('(not ' ~ parsed.is_present ~ ' or ' ~ parsed.is_number ~ ')') %}
        {% do values.append('coalesce(' ~ parsed.value ~ ', 0)') %}
        {% do marks.append(parsed.currency_mark) %}
    {% endfor %}
    {% set total = '(' ~ (values | join(' + ')) ~ ')' %}
    {% set is_number = '(' ~ (present | join(' or ')) ~ ') and ' ~ (numbers | join(' and '))
        ~ ' and abs(' ~ total ~ ') < ' ~ crm_retention.amount_limit() %}
    {{ return({
        'is_present': '(' ~ (present | join(' or ')) ~ ')',
        'is_number': '(' ~ is_number ~ ')',
        'value': 'case when ' ~ is_number ~ ' then cast(' ~ total ~ ' as ' ~ crm_retention.type_money() ~ ') end',
        'currency_mark': 'coalesce(' ~ (marks | join(', ')) ~ ')',
    }) }}
{% endmacro %}

{#-
    An exchange rate column as expressions, typed or text: is_number (a finite number) and value,
    a float (type_rate) that keeps a rate's 15 significant digits (0.0000393 stays 0.0000393; the
    money type would keep 0.000039). Text takes the amount shapes, or a plain number with an
    exponent as spreadsheets write small rates ('3.93E-05'). Whether a rate is in range is the
    model's check.
-#}
{% macro parse_rate(column, data_type, text) %}
    {% if crm_retention.is_numeric_type(data_type) %}
        {#- NaN sorts above every number on the supported engines: the bound rejects it and infinities. -#}
        {% set is_finite = '(abs(' ~ column ~ ') < 1e300)' %}
        {{ return({
            'is_number': 'coalesce(' ~ is_finite ~ ', false)',
            'value': 'case when ' ~ is_finite ~ ' then cast(' ~ column ~ ' as ' ~ crm_retention.type_rate() ~ ') end',
        }) }}
    {% endif %}
    {% set is_scientific = crm_retention.regex_matches(text, '^[0-9]{1,38}([.][0-9]{1,38})?([eE][-+]?[0-9]{1,2})?$') %}
    {{ return({
        'is_number': '(' ~ crm_retention.amount_is_number(text) ~ ' or coalesce(' ~ is_scientific ~ ', false))',
        'value': 'case when ' ~ crm_retention.amount_is_number(text) ~ ' then ' ~ crm_retention.amount_value(text, crm_retention.type_rate())
            ~ ' when ' ~ is_scientific ~ ' then cast(' ~ text ~ ' as ' ~ crm_retention.type_rate() ~ ') end',
    }) }}
{% endmacro %}

{#- The range of an accepted exchange rate (docs/definitions.md, "Currencies"). -#}
{% macro rate_limits() %}
    {{ return({'lowest': '1e-12', 'highest': '1e12'}) }}
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
        when (mod({{ year }}, 4) = 0 and mod({{ year }}, 100) <> 0) or mod({{ year }}, 400) = 0 then 29
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
        when {{ crm_retention._int_at(text, 1, 4) }} < 1 then false
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

{#-
    The UTC timestamp of a text that timestamp_is_valid accepted. A time of day without offset
    is read in crm_raw_timestamps_timezone; a date alone is a calendar day of crm_timezone, so
    its local date stays that day (both UTC by default).
-#}
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
    {%- set wall_clock = 'cast(' ~ local_text ~ ' as ' ~ dbt.type_timestamp() ~ ')' -%}
    {%- set with_offset = crm_retention.add_minutes(wall_clock, '-1 * (' ~ offset_minutes ~ ')') -%}
    {%- set raw_zone = crm_retention.get_raw_timestamps_timezone() -%}
    {%- set day_zone = crm_retention.get_timezone() -%}
    {%- if raw_zone == 'UTC' and day_zone == 'UTC' -%}
    {{ with_offset }}
    {%- else -%}
    case
        when length({{ text }}) = 10 then {{ crm_retention.convert_timezone(wall_clock, day_zone, 'UTC') }}
        when {{ offset_length }} = 0 then {{ crm_retention.convert_timezone(wall_clock, raw_zone, 'UTC') }}
        else {{ with_offset }}
    end
    {%- endif %}
{%- endmacro %}

{#-
    A timestamp column as expressions, typed or text: is_present (a value was given), is_valid
    (it is a timestamp) and utc (its UTC value). A typed column is never cast to text. `text`
    as in parse_amount.
-#}
{% macro parse_timestamp(column, data_type, text=none) %}
    {% if crm_retention.is_timestamp_type(data_type) %}
        {% if crm_retention.is_timestamptz_type(data_type) %}
            {% set utc = crm_retention.timestamptz_to_utc(column) %}
        {% else %}
            {#- Typed without a zone: a date is a day of crm_timezone, a timestamp a wall clock of crm_raw_timestamps_timezone. -#}
            {% set zone = crm_retention.get_timezone() if data_type == 'date' else crm_retention.get_raw_timestamps_timezone() %}
            {% set utc = crm_retention.convert_timezone('cast(' ~ column ~ ' as ' ~ dbt.type_timestamp() ~ ')', zone, 'UTC') %}
        {% endif %}
        {{ return({'is_present': '(' ~ column ~ ' is not null)', 'is_valid': '(' ~ column ~ ' is not null)', 'utc': utc}) }}
    {% endif %}
    {% set text = text or crm_retention.raw_text(column) %}
    {{ return({
        'is_present': '(' ~ text ~ ' is not null)',
        'is_valid': crm_retention.timestamp_is_valid(text),
        'utc': 'case when ' ~ crm_retention.timestamp_is_valid(text) ~ ' then ' ~ crm_retention.timestamp_to_utc(text) ~ ' end',
    }) }}
{% endmacro %}

{#-
    True when a parsed timestamp lies before crm_earliest_valid_date (a "zero date" such as
    0001-01-01, or a typed -infinity): rejected, so that one such row cannot stretch the period
    spine over centuries.
-#}
{% macro is_too_early(utc) -%}
    (cast({{ utc }} as date) < cast('{{ crm_retention.get_earliest_valid_date() }}' as date))
{%- endmacro %}

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

{#-
    The spellings of "no value" that exports put in text attributes (docs/definitions.md,
    "Cleaning"), compared after trimming and lower-casing; blank text is already null.
-#}
{% macro null_tokens() %}
    {{ return(['#n/a', 'n/a', 'null', 'none', '-']) }}
{% endmacro %}

{#- A trimmed text attribute, null when it is one of the null_tokens (a customer's country `#N/A` is unknown, not a country). -#}
{% macro attribute_text(text) -%}
    case
        when lower({{ text }}) in ('{{ crm_retention.null_tokens() | join("', '") }}') then null
        else {{ text }}
    end
{%- endmacro %}
