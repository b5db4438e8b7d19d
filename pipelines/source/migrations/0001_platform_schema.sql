-- The operational schema of the AI ebook platform, transcribed from the schema design document
-- (sections 1-9). Table, column, constraint and index names follow the document; every place where the
-- document is not valid PostgreSQL carries a `FIX:` comment with the smallest change that makes it so.
-- Applied by pipelines/source/migrate.py inside one transaction (so no CREATE INDEX CONCURRENTLY).
-- Section 10 (ALTER SYSTEM for WAL archiving, replicas) is server configuration, not schema: not applied here.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE SCHEMA IF NOT EXISTS users;
CREATE SCHEMA IF NOT EXISTS content;
CREATE SCHEMA IF NOT EXISTS ai_processing;
CREATE SCHEMA IF NOT EXISTS billing;
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE SCHEMA IF NOT EXISTS system;

-- 2. User management ---------------------------------------------------------------------------------------

CREATE TABLE users.users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255) NOT NULL UNIQUE,
    username VARCHAR(50) UNIQUE,
    password_hash VARCHAR(255),
    first_name VARCHAR(100),
    last_name VARCHAR(100),
    avatar_url TEXT,
    email_verified BOOLEAN DEFAULT FALSE,
    email_verified_at TIMESTAMP WITH TIME ZONE,
    preferences JSONB DEFAULT '{}',
    timezone VARCHAR(50) DEFAULT 'UTC',
    language VARCHAR(10) DEFAULT 'en',
    status VARCHAR(20) DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    tier VARCHAR(20) DEFAULT 'free' CHECK (tier IN ('free', 'basic', 'premium', 'enterprise')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    last_login_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT valid_email CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$')
);

CREATE INDEX idx_users_email ON users.users(email);
CREATE INDEX idx_users_username ON users.users(username);
CREATE INDEX idx_users_status ON users.users(status);
CREATE INDEX idx_users_tier ON users.users(tier);
CREATE INDEX idx_users_created_at ON users.users(created_at);

CREATE TABLE users.user_auth_methods (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users.users(id) ON DELETE CASCADE,
    method_type VARCHAR(20) NOT NULL CHECK (method_type IN ('password', 'google', 'microsoft', 'apple', 'github')),
    external_id VARCHAR(255),
    is_primary BOOLEAN DEFAULT FALSE,
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE(user_id, method_type)
    -- FIX: `UNIQUE(method_type, external_id) WHERE external_id IS NOT NULL` is not valid in a table
    -- definition; it is the partial unique index uq_user_auth_methods_external below.
);

CREATE UNIQUE INDEX uq_user_auth_methods_external
    ON users.user_auth_methods(method_type, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE users.user_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users.users(id) ON DELETE CASCADE,
    session_token VARCHAR(255) NOT NULL UNIQUE,
    ip_address INET,
    user_agent TEXT,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CHECK (expires_at > created_at)
);

CREATE INDEX idx_sessions_expires_at ON users.user_sessions(expires_at);

CREATE TABLE users.user_profiles (
    user_id UUID PRIMARY KEY REFERENCES users.users(id) ON DELETE CASCADE,
    bio TEXT,
    website VARCHAR(255),
    social_links JSONB DEFAULT '{}',
    writing_experience VARCHAR(20)
        CHECK (writing_experience IN ('beginner', 'intermediate', 'experienced', 'professional')),
    preferred_genres TEXT[],
    writing_goals JSONB DEFAULT '{}',
    notification_preferences JSONB DEFAULT '{}',
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE users.user_organizations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,
    owner_id UUID NOT NULL REFERENCES users.users(id),
    settings JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE users.organization_members (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id UUID NOT NULL REFERENCES users.user_organizations(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users.users(id) ON DELETE CASCADE,
    role VARCHAR(20) DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'editor', 'viewer', 'member')),
    joined_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE(organization_id, user_id)
);

-- 3. Content management ------------------------------------------------------------------------------------

CREATE TABLE content.projects (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    title VARCHAR(500) NOT NULL,
    description TEXT,
    genre VARCHAR(100),
    target_audience VARCHAR(100),
    target_word_count INTEGER,
    settings JSONB DEFAULT '{}',
    ai_configuration JSONB DEFAULT '{}',
    style_guide JSONB DEFAULT '{}',
    owner_id UUID NOT NULL REFERENCES users.users(id),
    organization_id UUID REFERENCES users.user_organizations(id),
    status VARCHAR(20) DEFAULT 'draft' CHECK (status IN ('draft', 'in_progress', 'completed', 'published', 'archived')),
    visibility VARCHAR(20) DEFAULT 'private' CHECK (visibility IN ('private', 'organization', 'public')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    completed_at TIMESTAMP WITH TIME ZONE,
    published_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX idx_projects_owner ON content.projects(owner_id);
CREATE INDEX idx_projects_status ON content.projects(status);
CREATE INDEX idx_projects_genre ON content.projects(genre);
CREATE INDEX idx_projects_created_at ON content.projects(created_at);
CREATE INDEX idx_projects_updated_at ON content.projects(updated_at);

CREATE TABLE content.project_collaborators (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id UUID NOT NULL REFERENCES content.projects(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users.users(id) ON DELETE CASCADE,
    role VARCHAR(20) DEFAULT 'editor' CHECK (role IN ('owner', 'editor', 'reviewer', 'viewer')),
    permissions JSONB DEFAULT '{}',
    invited_by UUID REFERENCES users.users(id),
    invited_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    accepted_at TIMESTAMP WITH TIME ZONE,
    UNIQUE(project_id, user_id)
);

CREATE TABLE content.chapters (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id UUID NOT NULL REFERENCES content.projects(id) ON DELETE CASCADE,
    title VARCHAR(500),
    position INTEGER NOT NULL,
    content TEXT,
    summary TEXT,
    notes TEXT,
    word_count INTEGER DEFAULT 0,
    character_count INTEGER DEFAULT 0,
    ai_generated BOOLEAN DEFAULT FALSE,
    ai_model VARCHAR(100),
    ai_prompt_used TEXT,
    ai_generation_timestamp TIMESTAMP WITH TIME ZONE,
    status VARCHAR(20) DEFAULT 'draft' CHECK (status IN ('draft', 'in_progress', 'review', 'completed')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE(project_id, position)
);

CREATE INDEX idx_chapters_project ON content.chapters(project_id);
CREATE INDEX idx_chapters_position ON content.chapters(project_id, position);
CREATE INDEX idx_chapters_status ON content.chapters(status);
CREATE INDEX idx_chapters_updated_at ON content.chapters(updated_at);
CREATE INDEX idx_chapters_content_fts ON content.chapters USING GIN(to_tsvector('english', content));

CREATE TABLE content.content_versions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    chapter_id UUID NOT NULL REFERENCES content.chapters(id) ON DELETE CASCADE,
    version_number INTEGER NOT NULL,
    content TEXT NOT NULL,
    title VARCHAR(500),
    change_summary TEXT,
    changed_by UUID NOT NULL REFERENCES users.users(id),
    change_type VARCHAR(20) DEFAULT 'manual'
        CHECK (change_type IN ('manual', 'ai_generation', 'ai_revision', 'collaboration')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    word_count INTEGER DEFAULT 0,
    UNIQUE(chapter_id, version_number)
);

CREATE INDEX idx_content_versions_chapter ON content.content_versions(chapter_id, version_number DESC);

CREATE TABLE content.content_embeddings (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    content_id UUID NOT NULL,
    content_type VARCHAR(20) NOT NULL CHECK (content_type IN ('chapter', 'project', 'summary')),
    embedding vector(1536),
    model VARCHAR(100) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
    -- FIX: PostgreSQL has no inline `INDEX USING ivfflat (...)` clause; it is the separate
    -- CREATE INDEX idx_content_embeddings_embedding below.
);

CREATE INDEX idx_content_embeddings_embedding
    ON content.content_embeddings USING ivfflat (embedding vector_cosine_ops) WITH (lists = 100);

CREATE TABLE content.content_statistics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    content_id UUID NOT NULL,
    content_type VARCHAR(20) NOT NULL CHECK (content_type IN ('project', 'chapter')),
    word_count INTEGER DEFAULT 0,
    character_count INTEGER DEFAULT 0,
    sentence_count INTEGER DEFAULT 0,
    paragraph_count INTEGER DEFAULT 0,
    flesch_reading_ease DECIMAL(5,2),
    flesch_kincaid_grade DECIMAL(5,2),
    ai_confidence_score DECIMAL(5,4),
    sentiment_score DECIMAL(5,4),
    topics JSONB DEFAULT '[]',
    calculated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

-- 4. AI processing -----------------------------------------------------------------------------------------

CREATE TABLE ai_processing.ai_providers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL UNIQUE,
    api_endpoint VARCHAR(500),
    configuration JSONB DEFAULT '{}',
    cost_per_token DECIMAL(10,8),
    rate_limit_config JSONB DEFAULT '{}',
    status VARCHAR(20) DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'maintenance')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE ai_processing.ai_models (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id UUID NOT NULL REFERENCES ai_processing.ai_providers(id),
    name VARCHAR(100) NOT NULL,
    version VARCHAR(50),
    context_window INTEGER,
    max_tokens INTEGER,
    cost_per_input_token DECIMAL(10,8),
    cost_per_output_token DECIMAL(10,8),
    capabilities JSONB DEFAULT '{}',
    status VARCHAR(20) DEFAULT 'active',
    UNIQUE(provider_id, name, version)
);

CREATE TABLE ai_processing.ai_generations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users.users(id),
    project_id UUID REFERENCES content.projects(id),
    chapter_id UUID REFERENCES content.chapters(id),
    model_id UUID NOT NULL REFERENCES ai_processing.ai_models(id),
    prompt TEXT NOT NULL,
    system_prompt TEXT,
    temperature DECIMAL(3,2) DEFAULT 0.7,
    max_tokens INTEGER,
    response TEXT,
    tokens_used INTEGER,
    cost DECIMAL(10,6),
    processing_time_ms INTEGER,
    confidence_score DECIMAL(5,4),
    quality_rating INTEGER CHECK (quality_rating BETWEEN 1 AND 5),
    status VARCHAR(20) DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    error_message TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX idx_ai_generations_user ON ai_processing.ai_generations(user_id);
CREATE INDEX idx_ai_generations_status ON ai_processing.ai_generations(status);
CREATE INDEX idx_ai_generations_created_at ON ai_processing.ai_generations(created_at);

CREATE TABLE ai_processing.prompt_templates (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,
    category VARCHAR(100),
    genre VARCHAR(100),
    system_prompt TEXT,
    user_prompt_template TEXT NOT NULL,
    variables JSONB DEFAULT '[]',
    default_model_id UUID REFERENCES ai_processing.ai_models(id),
    default_parameters JSONB DEFAULT '{}',
    usage_count INTEGER DEFAULT 0,
    average_rating DECIMAL(3,2),
    created_by UUID REFERENCES users.users(id),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    is_public BOOLEAN DEFAULT FALSE
);

-- 5. Billing -----------------------------------------------------------------------------------------------

CREATE TABLE billing.subscription_plans (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL,
    description TEXT,
    price DECIMAL(10,2) NOT NULL,
    billing_cycle VARCHAR(20) CHECK (billing_cycle IN ('monthly', 'yearly', 'one-time')),
    features JSONB DEFAULT '{}',
    ai_tokens_included INTEGER DEFAULT 0,
    projects_limit INTEGER DEFAULT 1,
    collaborators_limit INTEGER DEFAULT 0,
    export_formats TEXT[],
    status VARCHAR(20) DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'deprecated')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE billing.user_subscriptions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users.users(id) ON DELETE CASCADE,
    plan_id UUID NOT NULL REFERENCES billing.subscription_plans(id),
    stripe_subscription_id VARCHAR(255) UNIQUE,
    status VARCHAR(20) DEFAULT 'active'
        CHECK (status IN ('active', 'past_due', 'cancelled', 'unpaid', 'incomplete')),
    current_period_start TIMESTAMP WITH TIME ZONE NOT NULL,
    current_period_end TIMESTAMP WITH TIME ZONE NOT NULL,
    trial_end TIMESTAMP WITH TIME ZONE,
    next_billing_date TIMESTAMP WITH TIME ZONE,
    amount DECIMAL(10,2) NOT NULL,
    currency VARCHAR(3) DEFAULT 'USD',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    cancelled_at TIMESTAMP WITH TIME ZONE
);

-- FIX (8.2): the document partitions usage_records by month, which PostgreSQL only allows when the table is
-- declared PARTITION BY RANGE, and a partitioned table's primary key must contain the partition key: the
-- key is (id, usage_date) instead of (id). id stays unique in practice (gen_random_uuid()).
CREATE TABLE billing.usage_records (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users.users(id),
    subscription_id UUID REFERENCES billing.user_subscriptions(id),
    resource_type VARCHAR(50) NOT NULL,
    quantity INTEGER NOT NULL,
    unit_cost DECIMAL(10,6),
    total_cost DECIMAL(10,2),
    project_id UUID REFERENCES content.projects(id),
    ai_generation_id UUID REFERENCES ai_processing.ai_generations(id),
    usage_date DATE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    PRIMARY KEY (id, usage_date)
) PARTITION BY RANGE (usage_date);

CREATE INDEX idx_usage_records_user_date ON billing.usage_records(user_id, usage_date);
CREATE INDEX idx_usage_records_subscription ON billing.usage_records(subscription_id);

CREATE TABLE billing.revenue_shares (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users.users(id),
    project_id UUID NOT NULL REFERENCES content.projects(id),
    book_sales DECIMAL(15,2) DEFAULT 0,
    platform_commission_rate DECIMAL(5,4) DEFAULT 0.10,
    user_revenue DECIMAL(15,2) DEFAULT 0,
    platform_revenue DECIMAL(15,2) DEFAULT 0,
    payout_status VARCHAR(20) DEFAULT 'pending' CHECK (payout_status IN ('pending', 'processing', 'paid', 'failed')),
    payout_date TIMESTAMP WITH TIME ZONE,
    payout_method JSONB DEFAULT '{}',
    revenue_period_start DATE NOT NULL,
    revenue_period_end DATE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

-- 6. Analytics ---------------------------------------------------------------------------------------------

-- FIX (8.2): partitioned by month on "timestamp", so the primary key is (id, "timestamp") instead of (id),
-- which also makes "timestamp" NOT NULL (the document leaves it nullable with DEFAULT NOW()).
CREATE TABLE analytics.user_events (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID REFERENCES users.users(id),
    session_id UUID REFERENCES users.user_sessions(id),
    event_type VARCHAR(100) NOT NULL,
    event_category VARCHAR(50),
    event_data JSONB DEFAULT '{}',
    page_url TEXT,
    referrer TEXT,
    user_agent TEXT,
    ip_address INET,
    timestamp TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    PRIMARY KEY (id, timestamp)
) PARTITION BY RANGE (timestamp);

CREATE INDEX idx_user_events_user_time ON analytics.user_events(user_id, timestamp);
CREATE INDEX idx_user_events_type ON analytics.user_events(event_type);

CREATE TABLE analytics.project_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id UUID NOT NULL REFERENCES content.projects(id),
    total_words INTEGER DEFAULT 0,
    chapters_completed INTEGER DEFAULT 0,
    ai_generated_percentage DECIMAL(5,2) DEFAULT 0,
    active_writing_time_minutes INTEGER DEFAULT 0,
    ai_generation_time_minutes INTEGER DEFAULT 0,
    collaborator_count INTEGER DEFAULT 1,
    comments_count INTEGER DEFAULT 0,
    revisions_count INTEGER DEFAULT 0,
    metrics_date DATE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE(project_id, metrics_date)
);

-- 7. System ------------------------------------------------------------------------------------------------

CREATE TABLE system.app_settings (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    setting_key VARCHAR(255) NOT NULL UNIQUE,
    setting_value JSONB NOT NULL,
    description TEXT,
    category VARCHAR(100),
    is_public BOOLEAN DEFAULT FALSE,
    updated_by UUID REFERENCES users.users(id),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE system.feature_flags (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    flag_key VARCHAR(255) NOT NULL UNIQUE,
    is_enabled BOOLEAN DEFAULT FALSE,
    description TEXT,
    target_audience JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE system.background_jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_type VARCHAR(100) NOT NULL,
    payload JSONB NOT NULL,
    status VARCHAR(20) DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    priority INTEGER DEFAULT 0,
    max_retries INTEGER DEFAULT 3,
    retry_count INTEGER DEFAULT 0,
    error_message TEXT,
    scheduled_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE INDEX idx_jobs_status_priority ON system.background_jobs(status, priority DESC, scheduled_at);

-- 8.1 Critical performance indexes ---------------------------------------------------------------------------
-- FIX: the document builds these CONCURRENTLY, which cannot run inside a migration's transaction (and gains
-- nothing on tables created a moment ago): plain CREATE INDEX.

CREATE INDEX idx_users_active_lookup ON users.users(status, tier) WHERE status = 'active';
CREATE INDEX idx_chapters_project_active ON content.chapters(project_id) WHERE status IN ('draft', 'in_progress');
CREATE INDEX idx_ai_gen_cost_summary ON ai_processing.ai_generations(user_id, created_at, cost)
    WHERE status = 'completed';
-- FIX: date_trunc('month', usage_date) resolves to date_trunc(text, timestamptz), which depends on the session
-- time zone and so is not immutable: index expressions must be. Casting the date to timestamp (no zone) is.
CREATE INDEX idx_usage_monthly_summary
    ON billing.usage_records(user_id, date_trunc('month', usage_date::timestamp), resource_type);

-- 8.2 Partitions ---------------------------------------------------------------------------------------------
-- The DEFAULT partitions accept any date not yet covered by a monthly partition; `ebook-analytics source
-- partitions` (pipelines/source/partitions.py) adds monthly partitions and moves matching rows out of DEFAULT.
-- FIX: the document's bounds ('2024-01-01') on a timestamptz key would be read in the session's time zone;
-- the bounds are written in UTC so months are UTC calendar months whoever runs the migration.

CREATE TABLE analytics.user_events_default PARTITION OF analytics.user_events DEFAULT;
CREATE TABLE billing.usage_records_default PARTITION OF billing.usage_records DEFAULT;

CREATE TABLE analytics.user_events_y2024m01 PARTITION OF analytics.user_events
    FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 00:00:00+00');
CREATE TABLE billing.usage_records_y2024m01 PARTITION OF billing.usage_records
    FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');

-- 9.2 Business rule constraints ------------------------------------------------------------------------------

ALTER TABLE content.projects ADD CONSTRAINT check_word_count_positive
    CHECK (target_word_count > 0);

ALTER TABLE billing.user_subscriptions ADD CONSTRAINT check_subscription_period
    CHECK (current_period_end > current_period_start);

ALTER TABLE ai_processing.ai_generations ADD CONSTRAINT check_reasonable_cost
    CHECK (cost >= 0 AND cost < 1000);  -- Maximum $1000 per generation
