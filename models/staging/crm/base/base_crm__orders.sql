{#-
    Every raw order row, parsed, with the reason it is rejected (null for rows that stage).
    stg_crm__orders and stg_crm__rejected_rows both read this, so each raw row lands in exactly
    one of them. The order of the checks is the precedence documented in docs/definitions.md.

    De-duplication (the same pattern in every base model): the latest version of each order_id
    survives. One grouping finds the ids with several raw rows; only their rows are ranked (a
    window over a few rows), every other row is parsed once with no window. trimmed_orders
    trims each raw column and names the result, so the parse expressions read a name instead of
    spelling out the trim; it is not materialised: each of its readers reads the raw rows itself,
    so no engine has to keep a shared result of millions of rows (DECISIONLOG.md).
    A version that lost to a strictly later updated_at is superseded (the normal state of an
    append-only or change-data-capture loader); one with no strictly later version is an
    ambiguous duplicate.
    At crm_orders_grain: line a raw row is an order line: versions are per (order_id, line_id)
    (no line_id: every row is its own line), the current lines of an order must agree on its
    order-level values, and stg_crm__orders sums them to one order.
    With crm_reporting_currency set, each row gets the exchange rate of its currency on its
    order date (stg_crm__orders converts the amounts).
    In incremental mode (macros/incremental.sql) the raw rows are those of the order_ids with a
    row changed within the lookback (every order_id whose raw rows differ from those stored, when
    the reconciliation finds a difference), and an order_id that left the raw table leaves a
    tombstone.
-#}
{{ crm_retention.incremental_by_key('order_id', 'orders') }}
{%- do crm_retention.validate_vars() -%}
{%- set statuses = crm_retention.get_status_lists() -%}
{%- set specs = crm_retention.get_orders_columns() -%}
{%- set raw = crm_retention.raw_columns(source('crm', 'orders'), specs, 'orders') -%}
{%- set is_line_grain = crm_retention.get_orders_grain() == 'line' -%}
{%- set reporting_currency = crm_retention.get_reporting_currency() -%}
{%- set order_id = crm_retention.raw_text(raw.order_id, raw.types.order_id) -%}
{#- The columns a version is identified by: the order, or at line grain the order line. -#}
{%- set version_key = 'order_id, line_id' if is_line_grain else 'order_id' -%}
{%- set incremental = none -%}
{%- set raw_rows = source('crm', 'orders') -%}
{%- if is_incremental() -%}
    {#- Converted amounts also depend on the exchange rates: then every key of the lookback is re-read. -#}
    {%- set incremental = crm_retention.incremental_raw_rows(
        source('crm', 'orders'), raw, order_id, 'order_id', 'ordered_at',
        skip_unchanged=not (reporting_currency and crm_retention.get_flag('crm_using_exchange_rates', false))
    ) -%}
    {%- set raw_rows = 'changed_raw_rows' -%}
{%- endif -%}
{#- The parse expressions read the trimmed texts of trimmed_orders by name. -#}
{%- set ordered_at = crm_retention.parse_timestamp('raw_ordered_at', raw.types.ordered_at, 'ordered_at_text') -%}
{%- set updated_at = crm_retention.parse_timestamp('raw_updated_at', raw.types.updated_at, 'updated_at_text') -%}
{%- set amount = crm_retention.parse_amount('raw_amount', raw.types.amount, 'amount_text') -%}
{%- set refunded_amount = crm_retention.parse_amount('raw_refunded_amount', raw.types.refunded_amount, 'refunded_amount_text') -%}
{%- set parsed_columns -%}
        order_id_text as order_id,
        customer_id_text as customer_id,
        {% if is_line_grain -%}
        line_id_text as line_id,
        {% endif -%}
        lower(status_text) as status,
        currency_text as currency,
        {{ ordered_at.is_valid }} as is_ordered_at_valid,
        {{ ordered_at.utc }} as ordered_at,
        {{ amount.is_number }} as is_amount_number,
        {{ amount.value }} as amount,
        {{ refunded_amount.is_present }} as has_refunded_amount,
        {{ refunded_amount.is_number }} as is_refunded_amount_number,
        {{ refunded_amount.value }} as refunded_amount,
        {{ updated_at.utc }} as updated_at,
        {%- for spec in specs %}
        raw_{{ spec.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
{%- endset -%}
{%- set raw_values = crm_retention.raw_values_of(specs) %}

with
{%- if incremental %}

{{ incremental.ctes }},
{%- endif %}

-- Each raw column as read (raw_<column>) and as trimmed text, null when blank (<column>_text).
-- Read by three CTEs, and not materialised: each reads the raw table again (DECISIONLOG.md).
trimmed_orders as {{ crm_retention.not_materialized() }} (

    select
        {{ crm_retention.trimmed_columns(specs, raw) }}
    from {{ raw_rows }}

),

repeated_order_ids as (

    select order_id_text as repeated_order_id{% if is_line_grain %}, line_id_text as repeated_line_id{% endif %}
    from trimmed_orders
    where order_id_text is not null
        {%- if is_line_grain %}
        and line_id_text is not null
        {%- endif %}
    group by order_id_text{% if is_line_grain %}, line_id_text{% endif %}
    having count(*) > 1

),

single_versions as (

    select
        {{ parsed_columns }},
        1 as version_rank,
        false as is_superseded
    from trimmed_orders
    left join repeated_order_ids
        on trimmed_orders.order_id_text = repeated_order_ids.repeated_order_id
        {%- if is_line_grain %}
        and trimmed_orders.line_id_text = repeated_order_ids.repeated_line_id
        {%- endif %}
    where repeated_order_ids.repeated_order_id is null

),

repeated_versions as (

    select
        {{ parsed_columns }}
    from trimmed_orders
    where exists (
        select 1 as repeated
        from repeated_order_ids
        where
            trimmed_orders.order_id_text = repeated_order_ids.repeated_order_id
            {%- if is_line_grain %}
            and trimmed_orders.line_id_text = repeated_order_ids.repeated_line_id
            {%- endif %}
    )

),

-- The latest updated_at wins; ties go to the later ordered_at text, then the larger raw values,
-- so every engine keeps the same row. A losing version is superseded when the latest updated_at
-- is strictly later than its own, an ambiguous duplicate when it is the same or either is missing.
versioned as (

    select * from single_versions

    union all

    select
        *,
        row_number() over (
            partition by {{ version_key }}
            order by
                updated_at desc nulls last,
                {{ crm_retention.raw_text('raw_ordered_at') }} desc nulls last,
                {{ raw_values }} desc
        ) as version_rank,
        coalesce(updated_at < max(updated_at) over (partition by {{ version_key }}), false) as is_superseded
    from repeated_versions

),
{%- if is_line_grain %}

-- The current lines of an order must agree on its order-level values; a value missing on some
-- lines and present on others is a disagreement too.
{%- set order_lines = 'partition by order_id, version_rank = 1' %}
lines_checked as (

    select
        *,
        version_rank = 1 and order_id is not null and (
            {%- for column in ['customer_id', 'ordered_at', 'status', 'upper(currency)'] %}
            min({{ column }}) over ({{ order_lines }}) <> max({{ column }}) over ({{ order_lines }})
            or count({{ column }}) over ({{ order_lines }}) not in (0, count(*) over ({{ order_lines }}))
            {%- if not loop.last %}
            or{% endif %}
            {%- endfor %}
        ) as has_conflicting_lines
    from versioned

),
{%- endif %}
{%- if reporting_currency %}

-- Each rate holds from its rate_date until the next rate of its currency. Without the
-- exchange_rates source there is none: only orders in the reporting currency stage.
exchange_rates as (
    {%- if crm_retention.get_flag('crm_using_exchange_rates', false) %}

    select
        currency,
        rate,
        rate_date as valid_from,
        lead(rate_date) over (partition by currency order by rate_date) as valid_until
    from {{ ref('base_crm__exchange_rates') }}
    where rejection_reason is null
    {%- else %}

    select
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ crm_retention.type_rate() }}) as rate,
        cast(null as date) as valid_from,
        cast(null as date) as valid_until
    where 1 = 0
    {%- endif %}

),

-- Reporting-currency units per unit of the order's currency on its order date; an order
-- without a currency is in the reporting currency.
rated as (

    select
        orders.*,
        case
            when orders.currency is null or upper(orders.currency) = '{{ reporting_currency }}'
                then cast(1 as {{ crm_retention.type_rate() }})
            else exchange_rates.rate
        end as exchange_rate
    from {{ 'lines_checked' if is_line_grain else 'versioned' }} as orders
    left join exchange_rates
        on upper(orders.currency) = exchange_rates.currency
        and cast(orders.ordered_at as date) >= exchange_rates.valid_from
        and (exchange_rates.valid_until is null or cast(orders.ordered_at as date) < exchange_rates.valid_until)

),
{%- endif %}

classified as (

    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when version_rank > 1 and is_superseded then 'superseded_version'
            when version_rank > 1 then 'duplicate_order_id'
            {%- if is_line_grain %}
            when has_conflicting_lines then 'conflicting_order_lines'
            {%- endif %}
            when customer_id is null then 'missing_customer_id'
            when not is_ordered_at_valid then 'invalid_timestamp'
            when {{ crm_retention.is_too_early('ordered_at') }} then 'too_early_timestamp'
            when cast(ordered_at as date) > {{ crm_retention.current_utc_date() }} then '{{ crm_retention.future_reason() }}'
            when status is null
                or status not in ('{{ (statuses.counted + statuses.ignored) | join("', '") }}')
                then 'unknown_status'
            when not is_amount_number then 'invalid_amount'
            when amount < 0 then 'negative_amount'
            when has_refunded_amount and not is_refunded_amount_number then 'invalid_refunded_amount'
            when refunded_amount < 0 then 'invalid_refunded_amount'
            {%- if reporting_currency %}
            when exchange_rate is null then 'missing_exchange_rate'
            {%- endif %}
        end as rejection_reason
    from {{ 'rated' if reporting_currency else ('lines_checked' if is_line_grain else 'versioned') }}

),

final as (

    select
        order_id,
        {% if is_line_grain -%}
        line_id,
        {% endif -%}
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        status,
        case
            when status in ('{{ statuses.counted | join("', '") }}') then 'counted'
            else 'ignored'
        end as status_class,
        amount,
        refunded_amount,
        case
            when amount - coalesce(refunded_amount, 0) > 0 then amount - coalesce(refunded_amount, 0)
            else cast(0 as {{ crm_retention.type_money() }})
        end as net_revenue,
        currency,
        {% if reporting_currency -%}
        exchange_rate,
        {% endif -%}
        updated_at,
        rejection_reason,
        -- Only rejected rows show their raw values; building the text for every row costs time.
        case when rejection_reason is not null then {{ raw_values }} end as raw_values,
        {{ crm_retention.run_started_at_literal() }} as processed_at
    from classified

)

select * from final
{%- if incremental and incremental.tombstones %}

union all

{{ incremental.tombstones }}
{%- endif %}
