select id::text, name from ai_processing.ai_models
