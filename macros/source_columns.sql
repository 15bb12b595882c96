{#-
    The raw columns of each source, as data: the raw contract of docs/definitions.md section 1.
    Each spec names a column and whether it is required; staging reads a missing optional
    column as null and stops the build, naming the table, the column and the var that maps it,
    when a required one is missing. One macro per source, like Fivetran's get_<table>_columns.
    `line_id`, `product_id` and `product_category` are read at crm_orders_grain: line only; `status` may be replaced by
    crm_default_order_status when the table has none.
-#}

{% macro get_orders_columns() %}
    {% set columns = [
        {'name': 'order_id', 'required': true},
        {'name': 'customer_id', 'required': true},
        {'name': 'ordered_at', 'required': true},
        {'name': 'status', 'required': true, 'default': crm_retention.get_default_order_status()},
        {'name': 'amount', 'required': true},
        {'name': 'refunded_amount', 'required': false},
        {'name': 'currency', 'required': false},
        {'name': 'updated_at', 'required': false},
    ] %}
    {% if crm_retention.get_orders_grain() == 'line' %}
        {% do columns.append({'name': 'line_id', 'required': false}) %}
        {#- What the line bought: first-product cohorts (crm__cohort_retention_by_first_product). -#}
        {% do columns.append({'name': 'product_id', 'required': false}) %}
        {% do columns.append({'name': 'product_category', 'required': false}) %}
    {% endif %}
    {{ return(columns) }}
{% endmacro %}

{% macro get_customers_columns() %}
    {% set columns = [
        {'name': 'customer_id', 'required': true},
        {'name': 'email', 'required': false},
        {'name': 'first_name', 'required': false},
        {'name': 'last_name', 'required': false},
        {'name': 'country', 'required': false},
        {'name': 'acquisition_channel', 'required': false},
        {'name': 'created_at', 'required': false},
        {'name': 'updated_at', 'required': false},
    ] %}
    {#- A segment (crm_segments) that is not one of the columns above is passed through staging
        as text under a name of its own namespace (segment__<name>, macros/segments.sql), so
        that no attribute can take the place of a column the package uses; the raw table must
        have it. -#}
    {% set known = columns | map(attribute='name') | list %}
    {% for name in crm_retention.get_segments() if name not in known %}
        {% do columns.append({'name': crm_retention.segment_column_name(name, known), 'raw_name': name,
            'required': true, 'var': 'crm_segments', 'is_segment': true}) %}
        {% do known.append(columns[-1].name) %}
    {% endfor %}
    {{ return(columns) }}
{% endmacro %}

{#- The customer columns crm_segments adds to staging (the segments not in the raw contract), by their staged names. -#}
{% macro get_customer_segment_columns() %}
    {{ return(crm_retention.get_customers_columns() | selectattr('is_segment', 'defined') | map(attribute='name') | list) }}
{% endmacro %}

{% macro get_nps_responses_columns() %}
    {{ return([
        {'name': 'response_id', 'required': true},
        {'name': 'customer_id', 'required': true},
        {'name': 'responded_at', 'required': true},
        {'name': 'score', 'required': true},
        {'name': 'comment', 'required': false},
        {'name': 'updated_at', 'required': false},
    ]) }}
{% endmacro %}

{% macro get_marketing_spend_columns() %}
    {{ return([
        {'name': 'spent_on', 'required': true},
        {'name': 'channel', 'required': true},
        {'name': 'amount', 'required': true},
    ]) }}
{% endmacro %}

{#- Optional (crm_using_exchange_rates): reporting-currency units per unit of `currency` from `rate_date` on. -#}
{% macro get_exchange_rates_columns() %}
    {{ return([
        {'name': 'rate_date', 'required': true},
        {'name': 'currency', 'required': true},
        {'name': 'rate', 'required': true},
    ]) }}
{% endmacro %}

{#- The column specs of a source by its name. -#}
{% macro get_source_columns(source_name) %}
    {% if source_name == 'orders' %}{{ return(crm_retention.get_orders_columns()) }}
    {% elif source_name == 'customers' %}{{ return(crm_retention.get_customers_columns()) }}
    {% elif source_name == 'nps_responses' %}{{ return(crm_retention.get_nps_responses_columns()) }}
    {% elif source_name == 'marketing_spend' %}{{ return(crm_retention.get_marketing_spend_columns()) }}
    {% else %}{{ return(crm_retention.get_exchange_rates_columns()) }}
    {% endif %}
{% endmacro %}

{#-
    The column map of a source, var crm_<source>_columns: contract column name -> raw column
    name, e.g. {order_id: "Order ID", ordered_at: "Order Date"}. Validated when dbt parses: every
    key must be a contract column of the source and every value a column name. An order's amount
    and refunded_amount may name a list of columns, whose amounts are added
    ({amount: [Sales, "Add-on Total"]}, amount_parts in macros/parsing.sql).
-#}
{% macro get_column_map(source_name) %}
    {% set name = 'crm_' ~ source_name ~ '_columns' %}
    {% set value = var(name, none) %}
    {% if value is none %}
        {{ return({}) }}
    {% endif %}
    {% set contract = [] %}
    {% for spec in crm_retention.get_source_columns(source_name) %}{% do contract.append(spec.name) %}{% endfor %}
    {% for line_column in ['line_id', 'product_id', 'product_category'] if source_name == 'orders' and line_column not in contract %}{% do contract.append(line_column) %}{% endfor %}
    {% set allowed = 'a map from the contract columns of ' ~ source_name ~ ' (' ~ (contract | join(', ')) ~ ') to the raw column names, e.g. {' ~ contract[0] ~ ': "My ' ~ contract[0] ~ '"}' %}
    {% if value is not mapping %}
        {{ crm_retention._crm_var_error(name, value, allowed) }}
    {% endif %}
    {% set summed = ['amount', 'refunded_amount'] if source_name == 'orders' else [] %}
    {% set mapped = {} %}
    {% for key, raw_name in value.items() %}
        {% if key not in contract %}
            {{ crm_retention._crm_var_error(name, value, allowed ~ '; unknown key ' ~ key ~ ' (value ' ~ raw_name ~ ')') }}
        {% endif %}
        {% set is_list = raw_name is iterable and raw_name is not string and raw_name is not mapping %}
        {% if is_list and (key not in summed or raw_name | length == 0) %}
            {{ crm_retention._crm_var_error(name, value, allowed ~ '; key ' ~ key ~ ' needs one column name'
                ~ ('' if key not in summed else ', or a list of the columns whose amounts add up to it')) }}
        {% endif %}
        {% for part in (raw_name if is_list else [raw_name]) %}
            {% if part is not string or part | trim == '' or modules.re.fullmatch('\\s*(".*"|`.*`)\\s*', part) %}
                {{ crm_retention._crm_var_error(name, value, allowed ~ '; key ' ~ key ~ ' needs a column name, without quotes around it (value ' ~ part ~ ')') }}
            {% endif %}
        {% endfor %}
        {% do mapped.update({key: (raw_name | map('trim') | list) if is_list else raw_name | trim}) %}
    {% endfor %}
    {#- One raw column read as two contract columns is always a mistake (customer_id and order_id
        both from one id column make every order its own customer). -#}
    {% set by_raw_name = {} %}
    {% for key, raw_name in mapped.items() %}
        {% for part in (raw_name if raw_name is not string else [raw_name]) %}
            {% if part | lower in by_raw_name %}
                {{ crm_retention._crm_var_error(name, value, allowed ~ '; each raw column once, but ' ~ by_raw_name[part | lower] ~ ' and ' ~ key ~ ' both map to ' ~ part) }}
            {% endif %}
            {% do by_raw_name.update({part | lower: key}) %}
        {% endfor %}
    {% endfor %}
    {{ return(mapped) }}
{% endmacro %}

{#-
    A column name as SQL, always quoted (reserved words such as `order`, spaces, quotes), with the
    engine's own quote character doubled inside it. The name must be spelled as the warehouse
    stores it: raw_columns passes the name it found in the table.
-#}
{% macro column_sql(name) %}
    {% set quote_character = adapter.quote('x')[0] %}
    {{ return(adapter.quote(name | replace(quote_character, quote_character ~ quote_character))) }}
{% endmacro %}

{#-
    Stops the build when a raw table does not exist, naming the vars that point at it and, for
    an optional source, the switch that turns it off. Only in run and build: a lint or compile
    may run before the raw tables are loaded.
-#}
{% macro check_raw_table_exists(relation, source_name) %}
    {% if not execute or invocation_args_dict.get('which') not in ['run', 'build'] %}
        {{ return(none) }}
    {% endif %}
    {% if load_relation(relation) is none %}
        {% set switches = {
            'nps_responses': 'crm_using_nps', 'marketing_spend': 'crm_using_marketing_spend',
            'exchange_rates': 'crm_using_exchange_rates',
        } %}
        {% set message = "The raw " ~ source_name ~ " table " ~ relation ~ " does not exist. Point the var crm_"
            ~ source_name ~ "_identifier (and crm_schema, crm_database) at the table that holds them" %}
        {% if source_name in switches %}
            {% set message = message ~ ", or set " ~ switches[source_name] ~ ": "
                ~ ('true' if source_name == 'exchange_rates' else 'false') ~ " if you have none" %}
            {% if source_name == 'exchange_rates' %}
                {% set message = "The raw exchange_rates table " ~ relation ~ " does not exist. Point the var crm_exchange_rates_identifier (and crm_schema, crm_database) at it, or set crm_using_exchange_rates: false (orders in another currency than crm_reporting_currency are then rejected as missing_exchange_rate)" %}
            {% endif %}
        {% endif %}
        {{ exceptions.raise_compiler_error(message ~ ".") }}
    {% endif %}
{% endmacro %}
{#-
    The raw columns of `relation` by the specs of `source_name`: a dict from each column's
    contract name to its expression over the raw table (the raw column found by its contract
    name or by the var crm_<source>_columns, case-insensitively and quoted as needed; a typed
    null for a missing optional column; the default of a missing column that has one), plus
    `types`, each column's data type as the warehouse reports it ('text' when unknown). Read
    only when dbt executes; at parse time, and when the table cannot be read (it does not exist
    yet, as in a lint run), every column is taken as present.
-#}
{% macro raw_columns(relation, specs, source_name) %}
    {% do crm_retention.check_raw_table_exists(relation, source_name) %}
    {% set present = crm_retention.relation_columns(relation) %}
    {% set mapping = crm_retention.get_column_map(source_name) %}
    {% set var_name = 'crm_' ~ source_name ~ '_columns' %}
    {% set raw = {'types': {}, 'parts': {}} %}
    {% set read_from = {} %}
    {% for spec in specs %}
        {% set name = spec['name'] %}
        {% set raw_name = mapping.get(name, spec.get('raw_name', name)) %}
        {% if raw_name is not string %}
            {#- Several columns that add up to one amount: each found, and read as a text that
                shows them all (the raw value of a rejected row); amount_parts parses them. -#}
            {% set parts = [] %}
            {% for part in raw_name %}
                {% set found = present.get(part | lower) %}
                {% if execute and present and not found %}
                    {% do crm_retention.raise_mapped_column_missing(var_name, name, 'lists', part, relation, present) %}
                {% endif %}
                {% do parts.append({'sql': crm_retention.column_sql(found.name if found else part), 'type': found.type if found else 'text'}) %}
                {% do read_from.update({part | lower: name}) %}
            {% endfor %}
            {% set shown = [] %}
            {% for part in parts %}
                {% do shown.append("coalesce(cast(" ~ part.sql ~ " as " ~ dbt.type_string() ~ "), '')") %}
                {% if not loop.last %}{% do shown.append("' + '") %}{% endif %}
            {% endfor %}
            {% do raw.update({name: dbt.concat(shown)}) %}
            {% do raw['parts'].update({name: parts}) %}
            {% do raw['types'].update({name: 'text'}) %}
            {% continue %}
        {% endif %}
        {% set found = present.get(raw_name | lower) %}
        {% set data_type = 'text' %}
        {#- A contract column read under its own name from the raw column another one is mapped to. -#}
        {% if found and (raw_name | lower) in read_from and not spec.get('is_segment') %}
            {{ exceptions.raise_compiler_error(
                "Invalid value for var '" ~ var_name ~ "': " ~ read_from[raw_name | lower] ~ " and " ~ name
                ~ " would both be read from the raw column '" ~ found.name ~ "' of " ~ relation
                ~ ". Map each contract column to its own raw column (" ~ var_name ~ ": {" ~ name ~ ": \"...\"})."
            ) }}
        {% endif %}
        {% if found %}{% do read_from.update({raw_name | lower: name}) %}{% endif %}
        {% if not execute or not present %}
            {% do raw.update({name: crm_retention.column_sql(raw_name)}) %}
        {% elif found %}
            {% do raw.update({name: crm_retention.column_sql(found.name)}) %}
            {% set data_type = found.type %}
        {% elif name in mapping %}
            {% do crm_retention.raise_mapped_column_missing(var_name, name, 'maps to', raw_name, relation, present) %}
        {% elif spec.get('var') %}
            {{ exceptions.raise_compiler_error(
                "The raw table " ~ relation ~ " has no column '" ~ raw_name ~ "', named in the var "
                ~ spec['var'] ~ " (" ~ (var(spec['var']) | string) ~ "). Remove it from " ~ spec['var']
                ~ " or use one of the table's columns: " ~ (present.values() | map(attribute='name') | sort | join(', ')) ~ "."
            ) }}
        {% elif spec.get('default') is not none %}
            {% do raw.update({name: "'" ~ spec['default'] ~ "'"}) %}
        {% elif spec['required'] %}
            {{ exceptions.raise_compiler_error(
                "The raw table " ~ relation ~ " has no column '" ~ name ~ "', which crm_retention needs "
                ~ "(docs/definitions.md, section 1). Map it to the table's own column with the var " ~ var_name
                ~ " (e.g. " ~ var_name ~ ": {" ~ name ~ ": \"My column\"})"
                ~ (", or set crm_default_order_status to the status of every row" if name == 'status' else "")
                ~ ", or point the crm_schema and crm_" ~ source_name ~ "_identifier vars at a table that has it. Its columns: "
                ~ (present.values() | map(attribute='name') | join(', ')) ~ "."
            ) }}
        {% else %}
            {% do raw.update({name: 'cast(null as ' ~ dbt.type_string() ~ ')'}) %}
        {% endif %}
        {% do raw['types'].update({name: data_type | lower}) %}
    {% endfor %}
    {{ return(raw) }}
{% endmacro %}

{#-
    The columns of a base model's first CTE, which reads the raw rows: each column of the specs
    as read, raw_<name> (for the raw values of a rejected row and for typed parsing), and as
    trimmed text, null when blank, <name>_text (raw_text). The model's parse expressions read
    <name>_text by name, so the trim is computed once per raw row and spelled out once.
-#}
{% macro trimmed_columns(specs, raw) -%}
    {%- for spec in specs -%}
        {%- if not loop.first %},
        {% endif -%}
        {{ raw[spec.name] }} as raw_{{ spec.name }},
        {{ crm_retention.raw_text(raw[spec.name], raw.types[spec.name]) }} as {{ spec.name }}_text
        {%- for part in raw.get('parts', {}).get(spec.name, []) %},
        {{ part.sql }} as raw_{{ spec.name }}_{{ loop.index }},
        {{ crm_retention.raw_text(part.sql, part.type) }} as {{ spec.name }}_{{ loop.index }}_text
        {%- endfor -%}
    {%- endfor -%}
{%- endmacro %}

{#- The raw values text of a row for crm__rejected_rows, from the `raw_<name>` columns of the specs. -#}
{% macro raw_values_of(specs) -%}
    {%- set pairs = [] -%}
    {%- for spec in specs -%}{%- do pairs.append((spec.get('raw_name', spec['name']), 'raw_' ~ spec['name'])) -%}{%- endfor -%}
    {{ crm_retention.raw_values(pairs) }}
{%- endmacro %}

{#- The error for a column a *_columns var names (maps to, or lists as an amount part) that the
    raw table lacks; present: the raw table's columns by lower-case name. -#}
{% macro raise_mapped_column_missing(var_name, key, verb, column, relation, present) %}
    {{ exceptions.raise_compiler_error(
        "Invalid value for var '" ~ var_name ~ "': key " ~ key ~ " " ~ verb ~ " '" ~ column ~ "', but the raw table "
        ~ relation ~ " has no such column. Its columns: " ~ (present.values() | map(attribute='name') | join(', ')) ~ "."
    ) }}
{% endmacro %}
