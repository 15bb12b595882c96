{#- One row per rejected raw row, from every source, with the reason and the raw values. -#}

with

rejected as (

    select * from {{ ref('stg_crm__rejected_rows') }}

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
