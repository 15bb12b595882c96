{#-
    How the raw rows of every source ended: staged, or rejected with a reason, counted per source
    and outcome. Staged rows are counted from the staging models (a staged order counts its
    lines; exchange rates have no staging view, their base rows without a reason are the staged
    ones), rejected rows from crm__rejected_rows. For the data-quality view of a dashboard.
-#}
{%- set staged = [('orders', 'stg_crm__orders')] -%}
{%- if crm_retention.get_flag('crm_using_customers', true) -%}{%- do staged.append(('customers', 'stg_crm__customers')) -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_nps', true) -%}{%- do staged.append(('nps_responses', 'stg_crm__nps_responses')) -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_marketing_spend', true) -%}{%- do staged.append(('marketing_spend', 'stg_crm__marketing_spend')) -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_exchange_rates', false) -%}{%- do staged.append(('exchange_rates', 'base_crm__exchange_rates')) -%}{%- endif %}

with

rejected as (

    select * from {{ ref('crm__rejected_rows') }}

),

staged_rows as (
    {%- for source_table, model in staged %}

    select
        '{{ source_table }}' as source_table,
        {% if source_table == 'orders' -%}
        coalesce(sum(lines), 0) as raw_rows
        {%- else -%}
        count(*) as raw_rows
        {%- endif %}
    from {{ ref(model) }}
    {%- if source_table == 'exchange_rates' %}
    where rejection_reason is null
    {%- endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

rejected_rows as (

    select
        source_table,
        rejection_reason as outcome,
        count(*) as raw_rows
    from rejected
    group by source_table, rejection_reason

),

outcomes as (

    select
        source_table,
        'staged' as outcome,
        true as is_staged,
        raw_rows
    from staged_rows

    union all

    select
        source_table,
        outcome,
        false as is_staged,
        raw_rows
    from rejected_rows

),

final as (

    select
        cast(source_table as {{ dbt.type_string() }}) as source_table,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        is_staged,
        cast(raw_rows as {{ dbt.type_bigint() }}) as raw_rows
    from outcomes

)

select * from final
