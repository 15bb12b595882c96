-- Rows that break known column rules, so that the package's column_rules test is seen to fail
-- (tests/python/test_integration_project.py checks what it reports).
with

cases as (

    select 1 as case_id, cast(null as integer) as always_set, 5 as score, 'a' as label
    union all
    select 2 as case_id, 3 as always_set, 7 as score, cast(null as varchar) as label
    union all
    select 3 as case_id, 4 as always_set, -1 as score, cast(null as varchar) as label
    union all
    select 4 as case_id, 5 as always_set, cast(null as integer) as score, 'd' as label

)

select * from cases
