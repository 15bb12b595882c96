{#-
    Incremental mode (crm_incremental: true). The order-grain and customer-grain tables are then
    updated, not rebuilt:
    - base_crm__orders re-reads the raw rows of every order_id that has a row changed (updated_at,
      or ordered_at where updated_at is missing) since its newest row minus
      crm_incremental_lookback_days, and replaces all rows of those order_ids (delete+insert);
      base_crm__customers does the same by customer_id (updated_at, or created_at);
    - int_crm__changed_customers lists the customers of the rows that run replaced;
    - each customer-grain table deletes those customers' rows and appends them recomputed.
    Everything that depends on the as-of date or on all customers at once (period marts, RFM,
    lifecycle) is rebuilt every run from these tables. A change of crm_period,
    crm_churn_window_days, crm_as_of_date or the status lists needs `dbt build --full-refresh`.
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

{#- Materialization of the heavy customer-grain tables. -#}
{% macro heavy_materialization() %}
    {{ return('incremental' if crm_retention.is_incremental_mode() else 'table') }}
{% endmacro %}

{#- The run's start, stamped on the raw rows a run (re)processed. -#}
{% macro run_started_at_literal() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
    Pre-hook of a customer-grain table: drop the rows of the customers this run recomputes. It
    deletes rather than merging, so a customer left with no rows (an order corrected to
    cancelled) disappears as it does in a full refresh.
-#}
{% macro delete_changed_customers() %}
    {% if is_incremental() %}
        delete from {{ this }}
        where customer_id in (select customer_id from {{ ref('int_crm__changed_customers') }})
    {% endif %}
{% endmacro %}

{#- A where-clause on customer_id that keeps only changed customers in an incremental run. -#}
{% macro changed_customers_only(column='customer_id') -%}
    {%- if crm_retention.is_incremental_mode() and is_incremental() -%}
        where {{ column }} in (select customer_id from {{ ref('int_crm__changed_customers') }})
    {%- endif -%}
{%- endmacro %}

{#-
    Declares the dependency on int_crm__changed_customers that the incremental filters use; in
    both modes, so that unit tests give the same inputs whatever crm_incremental says.
-#}
{% macro depends_on_changed_customers() -%}
    /* depends on {{ ref('int_crm__changed_customers') }} */
{%- endmacro %}

{#-
    The raw rows an incremental run of a base table re-reads, as three CTEs, the last named
    `scoped`: every raw row of each key with a row changed since the newest row already
    processed, less the lookback. `raw` maps each column of `raw_columns` to its expression over
    `relation`; `key` is the raw key as trimmed text; `changed_at` is a raw row's parsed change
    time (updated_at, or else its own timestamp) and `stored_changed_at` the same over {{ this }}.
    Rows whose change time is missing or does not parse, and rows without a key, are few and
    always re-read; the base table's pre-hook drops the previous copies of keyless rows.
-#}
{% macro changed_rows_ctes(relation, raw_columns, raw, key, changed_at, stored_changed_at) %}
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

),

scoped as (

    select
        {%- for name in raw_columns %}
        {{ raw[name] }} as {{ name }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }}
    inner join changed_keys
        on coalesce({{ key }}, '') = changed_keys.changed_key

)
{% endmacro %}
