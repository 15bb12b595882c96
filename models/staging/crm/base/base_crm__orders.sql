{#-
    Every raw order row, parsed, with the reason it is rejected (null for rows that stage).
    stg_crm__orders and stg_crm__rejected_rows both read this, so each raw row lands in exactly
    one of them. The order of the checks is the precedence documented in docs/definitions.md.

    De-duplication (rank_versions, the same in every base model): the latest version of each
    order_id survives; only the ids with several raw rows are ranked. trimmed_orders trims each
    raw column and names the result, so the parse expressions of parsed_orders read a name
    instead of spelling out the trim; neither is materialised: each reader reads the raw rows
    itself, so no engine has to keep a shared result of millions of rows (DECISIONLOG.md).
    At crm_orders_grain: line a raw row is an order line: versions are per (order_id, line_id)
    (no line_id: every row is its own line), the current lines of an order must agree on its
    order-level values, and stg_crm__orders sums them to one order.
    A currency written in the amount text ('EUR 100', '$12.00') is the row's currency when it
    has none, and must agree with it otherwise (currency_mismatch). With crm_reporting_currency
    set, each row gets the exchange rate of its currency on its order date (stg_crm__orders
    converts the amounts). At line grain a negative amount is a return line (staged with
    crm_order_line_returns: net, the default).
    In incremental mode (macros/incremental/reread.sql) the raw rows are those of the order_ids with a
    row changed within the lookback (every order_id whose raw rows differ from those stored, when
    the reconciliation finds a difference), and an order_id that left the raw table leaves a
    tombstone.
-#}
{{ crm_retention.incremental_by_key('orders', 'order_id', 'ordered_at', settings=['orders']) }}
{%- do crm_retention.validate_vars() -%}
{%- set statuses = crm_retention.get_status_lists() -%}
{%- set specs = crm_retention.get_orders_columns() -%}
{%- set raw = crm_retention.raw_columns(source('crm', 'orders'), specs, 'orders') -%}
{%- set is_line_grain = crm_retention.get_orders_grain() == 'line' -%}
{%- set reporting_currency = crm_retention.get_reporting_currency() -%}
{#- The parse expressions read the trimmed texts of trimmed_orders by name. -#}
{%- set ordered_at = crm_retention.parse_timestamp('raw_ordered_at', raw.types.ordered_at, 'ordered_at_text') -%}
{%- set updated_at = crm_retention.parse_timestamp('raw_updated_at', raw.types.updated_at, 'updated_at_text') -%}
{%- set amount = crm_retention.amount_parts('amount', raw) -%}
{%- set refunded_amount = crm_retention.amount_parts('refunded_amount', raw) -%}
{%- set raw_values = crm_retention.raw_values_of(specs) -%}
{%- set nets_returns = is_line_grain and crm_retention.get_order_line_returns() == 'net' %}

with
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
{%- endif %}
{%- if is_incremental() and reporting_currency %}

-- Incremental run: the stored order ids whose exchange rate the current rates no longer give
-- (a rate arrived or changed for their date), re-read whatever their change time.
repriced_order_ids as (

    select distinct stored.order_id as changed_key
    from {{ this }} as stored
    left join exchange_rates
        on upper(stored.currency) = exchange_rates.currency
        and stored.order_date >= exchange_rates.valid_from
        and (exchange_rates.valid_until is null or stored.order_date < exchange_rates.valid_until)
    where
        stored.order_id is not null
        and upper(stored.currency) <> '{{ reporting_currency }}'
        and stored.exchange_rate is distinct from exchange_rates.rate
        and {{ crm_retention.is_live_row('stored.rejection_reason') }}

),
{%- endif %}
{%- if is_incremental() %}

-- Incremental run: the raw rows of the order ids to re-read (macros/incremental/reread.sql).
changed_raw_rows as (

    {{ crm_retention.changed_raw_rows(also_reread='repriced_order_ids' if reporting_currency else none) }}

),
{%- endif %}

-- Each raw column as read (raw_<column>) and as trimmed text, null when blank (<column>_text).
trimmed_orders as {{ crm_retention.not_materialized() }} (

    select
        {{ crm_retention.trimmed_columns(specs, raw) }}
    from {{ 'changed_raw_rows' if is_incremental() else source('crm', 'orders') }}

),

-- The currency symbol or code written in each amount (null for most amounts, and typed ones).
marked_orders as {{ crm_retention.not_materialized() }} (

    select
        *,
        {{ amount.currency_mark }} as amount_currency_mark,
        {{ refunded_amount.currency_mark }} as refunded_currency_mark
    from trimmed_orders

),

-- A currency written in the amounts is the row's currency when it has no currency value;
-- otherwise it must agree with it (has_consistent_currency, below).
currency_orders as {{ crm_retention.not_materialized() }} (

    select
        *,
        upper(coalesce(
            currency_text,
            {{ crm_retention.currency_of_amount('amount_currency_mark', 'null') }},
            {{ crm_retention.currency_of_amount('refunded_currency_mark', 'null') }}
        )) as row_currency
    from marked_orders

),

-- Every raw row parsed once. Read three times by the ranking of versions, and not materialised:
-- each reader reads the raw table again (DECISIONLOG.md).
parsed_orders as {{ crm_retention.not_materialized() }} (

    select
        order_id_text as order_id,
        customer_id_text as customer_id,
        {% if is_line_grain -%}
        line_id_text as line_id,
        product_id_text as product_id,
        product_category_text as product_category,
        {% endif -%}
        lower(status_text) as status,
        coalesce(currency_text, row_currency) as currency,
        {%- for mark in ['amount_currency_mark', 'refunded_currency_mark'] %}
        ({{ mark }} is null or {{ crm_retention.currency_of_amount(mark, 'row_currency') }} = row_currency)
        {%- if not loop.last %} and{% endif %}
        {%- endfor %} as has_consistent_currency,
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
    from currency_orders

),

-- The latest updated_at wins; ties go to the later ordered_at text, then the larger raw values,
-- so every engine keeps the same row (macros/deduplication.sql).
versioned as (

    {{ crm_retention.rank_versions('parsed_orders', ['order_id', 'line_id'] if is_line_grain else ['order_id'],
        order_by='updated_at desc nulls last, ' ~ crm_retention.raw_text('raw_ordered_at') ~ ' desc nulls last, '
            ~ raw_values ~ ' desc') }}

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
        and {{ crm_retention.local_date('orders.ordered_at') }} >= exchange_rates.valid_from
        and (exchange_rates.valid_until is null or {{ crm_retention.local_date('orders.ordered_at') }} < exchange_rates.valid_until)

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
            {%- if not nets_returns %}
            when amount < 0 then 'negative_amount'
            {%- endif %}
            when has_refunded_amount and not is_refunded_amount_number then 'invalid_refunded_amount'
            when refunded_amount < 0 then 'invalid_refunded_amount'
            when not has_consistent_currency then 'currency_mismatch'
            {%- if reporting_currency %}
            when exchange_rate is null then 'missing_exchange_rate'
            -- Converted, each amount must stay below the bound every amount keeps (parsing.sql).
            when exchange_rate <> 1 and (
                abs(amount * exchange_rate) >= {{ crm_retention.amount_limit() }}
                or refunded_amount * exchange_rate >= {{ crm_retention.amount_limit() }}
            ) then 'invalid_amount'
            {%- endif %}
        end as rejection_reason
    from {{ 'rated' if reporting_currency else ('lines_checked' if is_line_grain else 'versioned') }}

),

final as (

    select
        order_id,
        {% if is_line_grain -%}
        line_id,
        product_id,
        product_category,
        {% endif -%}
        customer_id,
        ordered_at,
        {{ crm_retention.local_date('ordered_at') }} as order_date,
        status,
        case
            when status in ('{{ statuses.counted | join("', '") }}') then 'counted'
            else 'ignored'
        end as status_class,
        amount,
        refunded_amount,
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

){%- if is_incremental() and crm_retention.is_full_check() %},

-- Full check: the stored rows of order ids that left the raw table (macros/incremental/reread.sql).
tombstones as (

    {{ crm_retention.tombstones() }}

)
{%- endif %}

select * from final
{%- if is_incremental() and crm_retention.is_full_check() %}

union all

select * from tombstones
{%- endif %}
