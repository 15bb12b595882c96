{#-
    Every rejected raw row of every source, with its reason and raw values: the other half of
    staging. The tombstones of incremental mode (keys that left the raw table) are not raw rows.
-#}
{%- set sources = ['orders'] -%}
{%- if crm_retention.get_flag('crm_using_customers', true) -%}{%- do sources.append('customers') -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_nps', true) -%}{%- do sources.append('nps_responses') -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_marketing_spend', true) -%}{%- do sources.append('marketing_spend') -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_exchange_rates', false) -%}{%- do sources.append('exchange_rates') -%}{%- endif -%}
{#- The raw key of each source: base orders keep the id once, as order_id (they are the widest table). -#}
{%- set raw_keys = {'orders': 'order_id'} %}

with

rejected as (

    {% for source_table in sources %}
    select
        '{{ source_table }}' as source_table,
        {{ raw_keys.get(source_table, 'raw_key') }} as raw_key,
        rejection_reason,
        raw_values
    from {{ ref('base_crm__' ~ source_table) }}
    where rejection_reason is not null and {{ crm_retention.is_live_row() }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from rejected
