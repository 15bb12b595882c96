{#- One row per rejected raw row, from every source, with the reason and the raw values. -#}
{%- set sources = ['orders', 'customers'] -%}
{%- if crm_retention.get_flag('crm_using_nps', true) -%}{%- do sources.append('nps_responses') -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_marketing_spend', true) -%}{%- do sources.append('marketing_spend') -%}{%- endif -%}
{#- The raw key of each source: base orders keep the id once, as order_id (they are the widest table). -#}
{%- set raw_keys = {'orders': 'order_id'} -%}

with

rejected as (

    {% for source_table in sources %}
    select
        '{{ source_table }}' as source_table,
        {{ raw_keys.get(source_table, 'raw_key') }} as raw_key,
        rejection_reason,
        raw_values
    from {{ ref('base_crm__' ~ source_table) }}
    where rejection_reason is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

-- The id is `<source_table>:<raw_key>:<n>`, n numbering the rows of one raw key (a missing key
-- is empty text; a present raw key never is). Numbering within the key, not the whole source,
-- spreads the window over the keys on a distributed engine, and an id does not change when
-- another key's rows are rejected or fixed.
final as (

    select
        {{ dbt.concat([
            'source_table',
            "':'",
            "coalesce(raw_key, '')",
            "':'",
            'cast(row_number() over (partition by source_table, raw_key order by rejection_reason, raw_values) as ' ~ dbt.type_string() ~ ')',
        ]) }} as rejected_row_id,
        source_table,
        raw_key,
        rejection_reason,
        raw_values
    from rejected

)

select * from final
