{#-
    The raw columns of each source, as data: the raw contract of docs/definitions.md section 1.
    Each spec names a column and whether it is required; staging reads a missing optional
    column as null and stops the build, naming the table and the column, when a required one
    is missing. One macro per source, like Fivetran's get_<table>_columns.
-#}

{% macro get_orders_columns() %}
    {{ return([
        {'name': 'order_id', 'required': true},
        {'name': 'customer_id', 'required': true},
        {'name': 'ordered_at', 'required': true},
        {'name': 'status', 'required': true},
        {'name': 'amount', 'required': true},
        {'name': 'refunded_amount', 'required': false},
        {'name': 'currency', 'required': false},
        {'name': 'updated_at', 'required': false},
    ]) }}
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
        as text under its own name; the raw table must have it. -#}
    {% set known = columns | map(attribute='name') | list %}
    {% for name in crm_retention.get_segments() if name not in known %}
        {% do columns.append({'name': name, 'required': true, 'var': 'crm_segments', 'is_segment': true}) %}
    {% endfor %}
    {{ return(columns) }}
{% endmacro %}

{#- The customer columns crm_segments adds to staging (the segments not in the raw contract). -#}
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
    ]) }}
{% endmacro %}

{% macro get_marketing_spend_columns() %}
    {{ return([
        {'name': 'spent_on', 'required': true},
        {'name': 'channel', 'required': true},
        {'name': 'amount', 'required': true},
    ]) }}
{% endmacro %}

{#-
    The raw columns of `relation` by the specs: a dict from each column's contract name to its
    expression over the raw table (the quoted column, or a typed null for a missing optional
    one), plus `types`, each column's data type as the warehouse reports it ('text' when
    unknown). Read only when dbt executes; at parse time, and when the table cannot be read
    (it does not exist yet, as in a lint run), every column is taken as present.
-#}
{% macro raw_columns(relation, specs) %}
    {% set present = crm_retention.relation_columns(relation) %}
    {% set raw = {'types': {}} %}
    {% for spec in specs %}
        {% set name = spec['name'] %}
        {% if not execute or not present or name in present %}
            {% do raw.update({name: adapter.quote(name) if name in ['comment'] else name}) %}
        {% elif spec.get('var') %}
            {{ exceptions.raise_compiler_error(
                "The raw table " ~ relation ~ " has no column '" ~ name ~ "', named in the var "
                ~ spec['var'] ~ " (" ~ (var(spec['var']) | string) ~ "). Remove it from " ~ spec['var']
                ~ " or use one of the table's columns: " ~ (present.keys() | sort | join(', ')) ~ "."
            ) }}
        {% elif spec['required'] %}
            {{ exceptions.raise_compiler_error(
                "The raw table " ~ relation ~ " has no column '" ~ name ~ "', which crm_retention needs "
                ~ "(docs/definitions.md, section 1). Add it to the table, or point the crm_schema and "
                ~ "crm_<source>_identifier vars at a table that has it."
            ) }}
        {% else %}
            {% do raw.update({name: 'cast(null as ' ~ dbt.type_string() ~ ')'}) %}
        {% endif %}
        {% do raw['types'].update({name: (present.get(name) or 'text') | lower}) %}
    {% endfor %}
    {{ return(raw) }}
{% endmacro %}

{#- The raw values text of a row for crm__rejected_rows, from the `raw_<name>` columns of the specs. -#}
{% macro raw_values_of(specs) -%}
    {%- set pairs = [] -%}
    {%- for spec in specs -%}{%- do pairs.append((spec['name'], 'raw_' ~ spec['name'])) -%}{%- endfor -%}
    {{ crm_retention.raw_values(pairs) }}
{%- endmacro %}
