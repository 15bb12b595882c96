{#-
    Incremental mode (crm_incremental: true), in one place. A model opts in with one line:

        {{ crm_retention.incremental_by_key('order_id') }}     -- a base table, keyed by a raw id
        {{ crm_retention.incremental_by_customer() }}          -- a customer-grain table

    and, in a customer-grain table, its import CTE keeps the changed customers only:

        select * from {{ ref('int_crm__orders') }}
        {{ crm_retention.changed_customers_only() }}

    What a run does:
    - a base table re-reads the raw rows of every key that has a row changed (updated_at, or the
      row's own timestamp where updated_at is missing) since its newest row minus
      crm_incremental_lookback_days, and replaces all rows of those keys (delete+insert), so a
      newer version still turns the older one into a rejected duplicate;
    - stg_crm__changed_customers (a model that exists in incremental mode only) lists the
      customers of the order rows that run re-read: old and new customer of a moved order alike;
    - each customer-grain table deletes those customers' rows and appends them recomputed; it
      deletes rather than merges, so a customer left with no rows disappears as in a full build.
    Outside incremental mode all of this compiles to nothing: the models are plain tables (or
    views) and read no extra model, so their unit tests give the same inputs in both modes.
    Everything that depends on the as-of date or on all customers at once (period marts, RFM,
    lifecycle) is rebuilt every run. A change of crm_period, crm_churn_window_days,
    crm_as_of_date or the status lists needs `dbt build --full-refresh`.
-#}

{% macro is_incremental_mode() %}
    {{ return(crm_retention.get_flag('crm_incremental', false)) }}
{% endmacro %}

{% macro get_incremental_lookback_days() %}
    {% set value = var('crm_incremental_lookback_days', 3) %}
    {% set text = value | string | trim %}
    {% if value is boolean or not modules.re.fullmatch('[0-9]+', text) or (text | int) > 3650 %}
        {{ crm_retention._crm_var_error('crm_incremental_lookback_days', value, 'a whole number of days from 0 to 3650') }}
    {% endif %}
    {{ return(text | int) }}
{% endmacro %}

{#-
    Config of a base table: a table, or in incremental mode an incremental table whose run
    replaces every row of the keys it re-read. Rows without a key are re-read by every run, so
    the pre-hook drops their previous copies.
-#}
{% macro incremental_by_key(key) %}
    {% if crm_retention.is_incremental_mode() %}
        {% do config(
            materialized='incremental',
            incremental_strategy='delete+insert',
            unique_key=key,
            pre_hook='{% if is_incremental() %}delete from {{ this }} where ' ~ key ~ ' is null{% endif %}',
        ) %}
    {% else %}
        {% do config(materialized='table') %}
    {% endif %}
{% endmacro %}

{#-
    Config of a customer-grain table: `full_build` materialization outside incremental mode; in
    incremental mode an appended table whose run first deletes the changed customers' rows.
-#}
{% macro incremental_by_customer(full_build='table') %}
    {% if crm_retention.is_incremental_mode() %}
        {% do config(
            materialized='incremental',
            incremental_strategy='append',
            pre_hook='{% if is_incremental() %}delete from {{ this }} where customer_id in '
                ~ '(select customer_id from {{ ref("stg_crm__changed_customers") }}){% endif %}',
        ) %}
    {% else %}
        {% do config(materialized=full_build) %}
    {% endif %}
{% endmacro %}

{#- A where-clause on customer_id that keeps only changed customers in an incremental run. -#}
{% macro changed_customers_only(column='customer_id') -%}
    {%- if crm_retention.is_incremental_mode() -%}
        {#- The ref is rendered in every incremental-mode parse, so dbt orders the models. -#}
        {%- set changed = ref('stg_crm__changed_customers') -%}
        {%- if is_incremental() -%}
            where {{ column }} in (select customer_id from {{ changed }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The run's start, stamped on the raw rows a run (re)processed. -#}
{% macro run_started_at_literal() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
    The raw rows an incremental run of a base table re-reads, as a subquery to select from:
    every raw row of each key with a row changed since the newest row already processed, less
    the lookback. `raw` maps each column of `specs` to its expression over `relation`; `key` is
    the raw key as trimmed text; `changed_at` is a raw row's parsed change time (updated_at, or
    else its own timestamp) and `stored_changed_at` the same over {{ this }}. Rows whose change
    time is missing or does not parse, and rows without a key, are few and always re-read; the
    base table's pre-hook drops the previous copies of keyless rows.
-#}
{% macro changed_raw_rows(relation, specs, raw, key, changed_at, stored_changed_at) -%}
(

    with

    watermark as (

        select {{ dbt.dateadd('day', -1 * crm_retention.get_incremental_lookback_days(), 'max(' ~ stored_changed_at ~ ')') }}
            as changed_since
        from {{ this }}
        where cast({{ stored_changed_at }} as date) <= {{ crm_retention.current_utc_date() }}

    ),

    changed_keys as (

        select distinct coalesce({{ key }}, '') as changed_key
        from {{ relation }}
        cross join watermark
        where
            {{ key }} is null
            or {{ changed_at }} is null
            or {{ changed_at }} >= watermark.changed_since

    )

    select
        {%- for spec in specs %}
        {{ raw[spec.name] }} as {{ adapter.quote(spec.name) if spec.name in ['comment'] else spec.name }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }}
    inner join changed_keys
        on coalesce({{ key }}, '') = changed_keys.changed_key

) as changed_raw_rows
{%- endmacro %}
