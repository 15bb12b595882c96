{#-
    Every raw exchange rate row, parsed, with the reason it is rejected (null for rows that
    stage). Enabled with crm_using_exchange_rates; read by base_crm__orders when
    crm_reporting_currency is set. A rate is reporting-currency units per unit of `currency`,
    valid from `rate_date` until the currency's next rate, as a float (parse_rate: the money
    type would round 0.0000393 to 0.000039). Two rows for one currency and day are ambiguous:
    both are rejected rather than one guessed.
-#}
{{ config(enabled=crm_retention.get_flag('crm_using_exchange_rates', false)) }}
{%- do crm_retention.validate_vars() -%}
{%- set specs = crm_retention.get_exchange_rates_columns() -%}
{%- set raw_rows = source('crm', 'exchange_rates') -%}
{%- set raw = crm_retention.raw_columns(raw_rows, specs, 'exchange_rates') -%}
{%- set rate_date = crm_retention.parse_timestamp('raw_rate_date', raw.types.rate_date, 'rate_date_text') -%}
{%- set rate = crm_retention.parse_rate('raw_rate', raw.types.rate, 'rate_text') %}

with

-- Each raw column as read (raw_<column>) and as trimmed text, null when blank (<column>_text).
trimmed_rates as (

    select
        {{ crm_retention.trimmed_columns(specs, raw) }}
    from {{ raw_rows }}

),

parsed as (

    select
        {{ rate_date.is_valid }} as is_rate_date_valid,
        {{ crm_retention.local_date(rate_date.utc) }} as rate_date,
        upper(currency_text) as currency,
        {{ rate.is_number }} as is_rate_number,
        {{ rate.value }} as rate,
        {{ dbt.concat(["coalesce(currency_text, '')", "'|'", "coalesce(rate_date_text, '')"]) }} as raw_key,
        {%- for spec in specs %}
        raw_{{ spec.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from trimmed_rates

),

counted as (

    select
        *,
        count(*) over (partition by currency, rate_date) as rates_that_day
    from parsed

),

classified as (

    select
        *,
        case
            when not is_rate_date_valid then 'invalid_timestamp'
            when {{ crm_retention.is_too_early('rate_date') }} then 'too_early_timestamp'
            when currency is null then 'missing_currency'
            when not is_rate_number or rate <= 0 then 'invalid_rate'
            -- Beyond any currency pair: converting with it would round every amount to 0, or
            -- overflow the money type.
            when rate < {{ crm_retention.rate_limits().lowest }} or rate > {{ crm_retention.rate_limits().highest }}
                then 'rate_out_of_range'
            when rates_that_day > 1 then 'duplicate_exchange_rate'
        end as rejection_reason
    from counted

),

final as (

    select
        rate_date,
        currency,
        rate,
        rejection_reason,
        raw_key,
        {{ crm_retention.raw_values_of(specs) }} as raw_values
    from classified

)

select * from final
