// jenkinsfile_check.groovy FILE...: checks declarative Jenkinsfiles without a Jenkins.
//
// 1. Compiles each file with Groovy (Jenkins runs Groovy 2.4 too): a syntax error fails with
//    the file, line and column.
// 2. Runs it with a stub of the pipeline DSL that records every section and step instead of
//    running it (helper methods and script {} blocks really run, against stub params/env),
//    then checks the declarative structure: one pipeline {} with agent and stages; known
//    sections in known places; each stage with steps, stages or parallel; post conditions;
//    every step called anywhere is a known step (a typo such as archiveArtifact fails);
//    a sh script that uses a withCredentials variable is a plain single-quoted string
//    (Groovy interpolation would put the secret in the script and the build log).
// 3. Prints the recorded tree, one line per call: PATH: ARGS (the tests grep it). With
//    JENKINSFILE_CHECK_OUT=DIR, what writeFile writes goes to DIR/<Jenkinsfile's name>/FILE.
// Exit 0 when every file passes, 1 otherwise.

import org.codehaus.groovy.control.CompilationFailedException

class Call {
    String name
    List args = []
    List<Call> children = []
    Call parent

    String path() {
        def parts = []
        for (Call c = this; c != null && c.name != null; c = c.parent) {
            parts.add(0, c.name == 'stage' && c.args ? "stage[${c.args[0]}]" : c.name)
        }
        return parts.join('/')
    }

    String argText() {
        args.findAll { !(it instanceof Closure) }.collect { a ->
            a instanceof Call ? a.name + '(' + a.argText() + ')' : String.valueOf(a)
        }.join(', ').replaceAll('\\s+', ' ').trim()
    }
}

class Recorder {
    static final List CREDENTIAL_VARIABLES = ['usernameVariable', 'passwordVariable', 'keyFileVariable',
                                              'passphraseVariable', 'variable']
    Call node
    Map ctx

    Recorder(Call node, Map ctx) {
        this.node = node
        this.ctx = ctx
    }

    def methodMissing(String name, Object argsObj) {
        List args = (argsObj as Object[]).toList()
        // the Jenkinsfile's own helper methods run, inside script { } only (elsewhere a
        // declarative pipeline takes only steps: they are reported as unknown steps)
        if (ctx.script.metaClass.respondsTo(ctx.script, name, argsObj as Object[]) && inScript()) {
            return ctx.script.invokeMethod(name, argsObj)
        }
        Call c = new Call(name: name, args: args, parent: node)
        node.children.add(c)
        if (name in ['string', 'choice', 'booleanParam', 'text', 'password'] && node.name == 'parameters') {
            Map m = args ? (args[0] instanceof Map ? args[0] : [:]) : [:]
            def value = m.defaultValue
            if (name == 'choice') {
                value = m.choices instanceof List ? m.choices[0] : String.valueOf(m.choices).split('\n')[0]
            }
            if (m.name) {
                ctx.params[m.name] = value
            }
        }
        Closure body = args ? (args[-1] instanceof Closure ? args[-1] : null) : null
        if (body != null) {
            // withCredentials: its variables are bound (to a marker) inside its body only
            Set saved = new HashSet(ctx.secretVars)
            if (name == 'withCredentials' && args[0] instanceof List) {
                for (def b : args[0]) {
                    if (b instanceof Call && b.args && b.args[0] instanceof Map) {
                        CREDENTIAL_VARIABLES.each { v -> if (b.args[0][v]) ctx.secretVars << b.args[0][v] }
                    }
                }
            }
            Recorder inner = new Recorder(c, ctx)
            Closure copy = body.rehydrate(inner, body.owner, body.thisObject)
            copy.resolveStrategy = Closure.DELEGATE_FIRST
            try {
                copy.call()
            } finally {
                ctx.secretVars = saved
            }
        }
        if (name == 'writeFile' && ctx.out && args && args[0] instanceof Map) {
            File f = new File(ctx.out, String.valueOf(args[0].file))
            f.parentFile.mkdirs()
            f.setText(String.valueOf(args[0].text), 'UTF-8')
        }
        switch (name) {
            case 'readFile': return 'http://127.0.0.1:8080\n'
            case 'fileExists': return true
            default: return c
        }
    }

    boolean inScript() {
        for (Call c = node; c != null; c = c.parent) {
            if (c.name == 'script') {
                return true
            }
        }
        return false
    }

    def propertyMissing(String name) {
        switch (name) {
            case 'params': return ctx.params
            case 'env': return ctx.env
            case 'currentBuild': return ctx.currentBuild
            case 'scm': return 'scm'
            case 'any': return 'any'
            case 'none': return 'none'
            default:
                if (name in ctx.secretVars) {
                    return "<secret ${name}>".toString()
                }
                // environment variables and parameters are script properties in Jenkins
                if (ctx.env.containsKey(name)) {
                    return ctx.env[name]
                }
                if (ctx.params.containsKey(name)) {
                    return ctx.params[name]
                }
                throw new MissingPropertyException(name, Recorder)
        }
    }

    // environment { NAME = 'value' }
    def propertyMissing(String name, Object value) {
        node.children.add(new Call(name: name, args: ['=', value], parent: node))
    }
}

// Where each name may be called.
PIPELINE = ['agent', 'options', 'parameters', 'environment', 'stages', 'post', 'triggers', 'tools', 'libraries'] as Set
STAGE = ['agent', 'environment', 'options', 'when', 'input', 'tools', 'steps', 'stages', 'parallel', 'post', 'matrix'] as Set
POST = ['always', 'changed', 'fixed', 'regression', 'aborted', 'failure', 'success', 'unstable',
        'unsuccessful', 'notBuilt', 'cleanup'] as Set
PARAMETERS = ['string', 'choice', 'booleanParam', 'text', 'password', 'credentials'] as Set
OPTIONS = ['timeout', 'buildDiscarder', 'logRotator', 'disableConcurrentBuilds', 'timestamps',
           'skipDefaultCheckout', 'retry', 'quietPeriod', 'ansiColor', 'durabilityHint',
           'preserveStashes', 'checkoutToSubdirectory', 'disableResume', 'newContainerPerStage'] as Set
AGENT = ['label', 'node', 'docker', 'dockerfile', 'customWorkspace'] as Set
WHEN = ['expression', 'branch', 'environment', 'not', 'allOf', 'anyOf', 'changeRequest',
        'tag', 'triggeredBy', 'beforeAgent', 'equals'] as Set
// The steps these Jenkinsfiles may use (core, workflow-basic-steps, durable-task,
// credentials-binding, junit, git, ansible, pipeline-utility-steps' readJSON).
STEPS = ['sh', 'echo', 'error', 'checkout', 'git', 'dir', 'deleteDir', 'writeFile', 'readFile',
         'fileExists', 'withCredentials', 'usernamePassword', 'sshUserPrivateKey', 'file', 'string',
         'script', 'junit', 'archiveArtifacts', 'ansiblePlaybook', 'timeout', 'retry', 'input',
         'stash', 'unstash', 'withEnv', 'sleep', 'readJSON', 'catchError', 'warnError',
         'unstable', 'isUnix', 'pwd', 'mail'] as Set

List problems = []

def check(Call c, String where, List problems) {
    def allowed = [pipeline: PIPELINE, stage: STAGE, post: POST, parameters: PARAMETERS,
                   options: OPTIONS, agent: AGENT, when: WHEN, environment: null][where]
    for (Call k : c.children) {
        String at = k.path()
        switch (where) {
            case 'stages':
                if (k.name != 'stage') {
                    problems << "${at}: only stage(NAME) { ... } may be in stages"
                } else if (!(k.args && k.args[0] instanceof CharSequence)) {
                    problems << "${at}: a stage needs a name"
                } else {
                    def names = k.children*.name as Set
                    if (!(names.intersect(['steps', 'stages', 'parallel', 'matrix'] as Set))) {
                        problems << "${at}: a stage needs steps, stages or parallel"
                    }
                    check(k, 'stage', problems)
                }
                continue
            case 'steps':
                if (!(k.name in STEPS)) {
                    problems << "${at}: unknown step '${k.name}'"
                }
                if (k.name == 'sh' && k.args) {
                    def script = k.args[0] instanceof Map ? k.args[0].script : k.args[0]
                    if (script instanceof GString && script.values.any { String.valueOf(it).contains('<secret ') }) {
                        problems << "${at}: Groovy interpolates a credential into the script: use single quotes (the shell expands it)"
                    }
                }
                check(k, 'steps', problems)
                continue
        }
        if (allowed != null && !(k.name in allowed)) {
            problems << "${at}: '${k.name}' is not allowed in ${where}"
        }
        switch (k.name) {
            case 'stages': if (where in ['pipeline', 'stage']) check(k, 'stages', problems); break
            case 'steps': check(k, 'steps', problems); break
            case 'post': check(k, 'post', problems); break
            case 'parameters': case 'options': case 'agent': case 'when': case 'environment':
                if (where in ['pipeline', 'stage']) check(k, k.name, problems)
                break
            case 'parallel': check(k, 'stages', problems); break
            default:
                if (where == 'post') {
                    check(k, 'steps', problems)
                }
        }
    }
}

def printTree(Call c) {
    for (Call k : c.children) {
        println "${k.path()}: ${k.argText()}"
        printTree(k)
    }
}

int failed = 0
for (String file : args) {
    List fileProblems = []
    Map ctx = [secretVars: [] as Set, params: [:], env: [WORKSPACE: '/workspace/job', BUILD_NUMBER: '42', JOB_NAME: 'job'],
               currentBuild: new Expando(result: 'SUCCESS', description: null, number: 42)]
    Call root = new Call()
    String outDir = System.getenv('JENKINSFILE_CHECK_OUT')
    if (outDir) {
        ctx.out = new File(outDir, new File(file).name.replaceAll('\\.Jenkinsfile$', ''))
    }
    Script script
    try {
        script = new GroovyShell(new Binding()).parse(new File(file).getText("UTF-8"), "Jenkinsfile")
    } catch (CompilationFailedException e) {
        System.err.println("${file}: syntax error: ${e.message.readLines().findAll { it.trim() }.take(3).join(' ')}")
        failed++
        continue
    }
    Binding b = new Binding(params: ctx.params, env: ctx.env, currentBuild: ctx.currentBuild, scm: 'scm')
    b.setVariable('pipeline', { Closure body ->
        new Recorder(root, ctx).methodMissing('pipeline', [body] as Object[])
    })
    script.binding = b
    ctx.script = script
    try {
        script.run()
    } catch (Throwable e) {
        fileProblems << "running the pipeline with stub steps failed: ${e.class.simpleName}: ${e.message}"
    }
    def pipelines = root.children.findAll { it.name == 'pipeline' }
    if (pipelines.size() != 1) {
        fileProblems << "expected one pipeline { ... } block, found ${pipelines.size()}"
    } else {
        Call p = pipelines[0]
        def names = p.children*.name
        ['agent', 'stages'].each { if (!(it in names)) fileProblems << "pipeline: no ${it} section" }
        names.countBy { it }.each { n, count -> if (count > 1) fileProblems << "pipeline: ${count} ${n} sections" }
        check(p, 'pipeline', fileProblems)
    }
    println "== ${file}"
    printTree(root)
    fileProblems.each { System.err.println("${file}: ${it}") }
    if (fileProblems) {
        failed++
    }
}
System.exit(failed ? 1 : 0)
