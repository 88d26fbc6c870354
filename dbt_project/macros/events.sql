{#- The event vocabulary shared by several models, so that one edit changes every use. -#}

{#- What a person does on the site: sessions, activity and idleness are computed from these;
    provider feedback (email, SMS, push) and order fulfilment happen elsewhere. -#}
{% macro site_track_events() -%}
    ('Product Viewed', 'Product Added', 'Product Removed', 'Checkout Started',
     'Order Completed', 'Signed Up', 'Product Reviewed', 'Products Searched')
{%- endmacro %}

{% macro is_site_activity(event_type, event_name) -%}
    ({{ event_type }} = 'page' or ({{ event_type }} = 'track' and {{ event_name }} in {{ site_track_events() }}))
{%- endmacro %}

{#- Browsing or carting products: what turns a subscriber into a shopper. -#}
{% macro shopping_events() -%}
    ('Product Viewed', 'Product Added', 'Checkout Started')
{%- endmacro %}

{#- Signing up = a Signed Up event or an opt-in to any channel, whichever comes first. -#}
{% macro is_signup(event_name, status) -%}
    ({{ event_name }} = 'Signed Up' or ({{ event_name }} = 'Subscription Updated' and {{ status }} = 'subscribed'))
{%- endmacro %}
