{#-
    The audit of identity resolution (crm_identity: email): one row per customer id that was
    merged with another into one person, with the person, the key they share and the rule. A
    customer id alone in its person has no row. Emails change hands: read this before trusting
    a merged history.
-#}
{{ config(enabled=crm_retention.get_identity() == 'email') }}

with

persons as (

    select * from {{ ref('int_crm__persons') }}

),

final as (

    select
        person_id,
        customer_id,
        identity_key,
        cast(member_number as {{ dbt.type_bigint() }}) as member_number,
        cast(members as {{ dbt.type_bigint() }}) as members,
        cast('{{ crm_retention.identity_rule() }}' as {{ dbt.type_string() }}) as merge_rule
    from persons
    where members > 1

)

select * from final
