"""The plugin's GraphQL API (graphene 2, as Saleor uses), served at the channel route
`/plugins/channel/<channel>/<PLUGIN_ID>/graphql/` for staff and apps (see docs/graphql.md)."""
